use serde::{Deserialize, Serialize};

use crate::MediaContent;

/// Who wrote a message.
///
/// ```
/// use promptkit_core::{Message, Role};
/// assert_eq!(Message::assistant("Hi").role, Role::Assistant);
/// assert_eq!(serde_json::to_value(Role::Tool).unwrap(), "tool");
/// assert_eq!(serde_json::from_str::<Role>(r#""system""#).unwrap(), Role::System);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// System instructions.
    System,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
}

/// One part of a message's content.
///
/// ```
/// use promptkit_core::{ContentPart, MediaContent};
/// let text = ContentPart::text("caption");
/// let image = ContentPart::media(MediaContent::from_url("image/jpeg", "https://example.com/cat.jpg"));
/// assert!(text.as_media().is_none());
/// assert_eq!(image.as_media().unwrap().url.as_deref(), Some("https://example.com/cat.jpg"));
/// assert_eq!(
///     serde_json::to_value(&text).unwrap(),
///     serde_json::json!({"type": "text", "text": "caption"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
#[non_exhaustive]
pub enum ContentPart {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, audio clip, video or document.
    Media {
        /// The media (inline, stored, or by URL). Boxed, so a part costs 32
        /// bytes whatever its kind: history holds many text parts.
        media: Box<MediaContent>,
    },
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text { text: text.into() }
    }

    /// A media part.
    pub fn media(media: MediaContent) -> Self {
        ContentPart::Media {
            media: Box::new(media),
        }
    }

    /// The media of a media part.
    pub fn as_media(&self) -> Option<&MediaContent> {
        match self {
            ContentPart::Media { media } => Some(&**media),
            ContentPart::Text { .. } => None,
        }
    }

    /// Mutable media of a media part.
    pub fn as_media_mut(&mut self) -> Option<&mut MediaContent> {
        match self {
            ContentPart::Media { media } => Some(&mut **media),
            ContentPart::Text { .. } => None,
        }
    }
}

/// A tool call requested by the model.
///
/// ```
/// use promptkit_core::{ContentPart, Message, Role, ToolCall};
/// let call = ToolCall::new("call_1", "weather", r#"{"city":"Oslo"}"#);
/// let args: serde_json::Value = serde_json::from_str(&call.arguments).unwrap();
/// assert_eq!(args["city"], "Oslo");
/// // Answer the call with a tool message that echoes its id.
/// let reply = Message::tool_result(&call.id, &call.name, vec![ContentPart::text("12°C")]);
/// assert_eq!(reply.role, Role::Tool);
/// assert_eq!(reply.tool_call_id.as_deref(), Some("call_1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Provider-assigned id, echoed back in the tool result message.
    pub id: Box<str>,
    /// Tool name.
    pub name: Box<str>,
    /// Arguments as the raw JSON text the model produced (may be invalid JSON).
    pub arguments: Box<str>,
}

impl ToolCall {
    /// A tool call.
    ///
    /// ```
    /// let call = promptkit_core::ToolCall::new("call_1", "weather", r#"{"city":"Oslo"}"#);
    /// assert_eq!(&*call.name, "weather");
    /// ```
    pub fn new(id: impl AsRef<str>, name: impl AsRef<str>, arguments: impl AsRef<str>) -> Self {
        ToolCall {
            id: id.as_ref().into(),
            name: name.as_ref().into(),
            arguments: arguments.as_ref().into(),
        }
    }
}

/// One message of a conversation.
///
/// History keeps every message for the life of a conversation, so the
/// layout is kept small: lists are boxed slices and the tool fields boxed
/// strings (72 bytes per message, plus its parts; a `Vec`/`String` layout
/// took 104). To change the parts of a message, use [`Message::push_part`]
/// or build a new slice (`msg.parts = parts.into()`).
///
/// ```
/// use promptkit_core::{ContentPart, Message, Role};
/// let mut m = Message::user("look at this");
/// m.push_part(ContentPart::text("and this"));
/// assert_eq!(m.role, Role::User);
/// assert_eq!(m.text(), "look at this\nand this");
/// assert!(std::mem::size_of::<Message>() <= 72);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Author.
    pub role: Role,
    /// Content parts, in order.
    #[serde(default)]
    pub parts: Box<[ContentPart]>,
    /// Tool calls requested by an assistant message.
    #[serde(default, skip_serializing_if = "<[ToolCall]>::is_empty")]
    pub tool_calls: Box<[ToolCall]>,
    /// For [`Role::Tool`] messages: the call this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<Box<str>>,
    /// For [`Role::Tool`] messages: the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Box<str>>,
}

impl Message {
    /// A message with the given role and parts.
    pub fn new(role: Role, parts: impl Into<Box<[ContentPart]>>) -> Self {
        Message {
            role,
            parts: parts.into(),
            tool_calls: Box::default(),
            tool_call_id: None,
            name: None,
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, vec![ContentPart::text(text)])
    }

    /// A user text message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, vec![ContentPart::text(text)])
    }

    /// A user message with several parts.
    pub fn user_with_parts(parts: impl Into<Box<[ContentPart]>>) -> Self {
        Self::new(Role::User, parts)
    }

    /// An assistant text message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, vec![ContentPart::text(text)])
    }

    /// An assistant message that calls tools.
    pub fn assistant_tool_calls(text: Option<String>, calls: impl Into<Box<[ToolCall]>>) -> Self {
        let mut m = Self::new(
            Role::Assistant,
            text.map(ContentPart::text)
                .into_iter()
                .collect::<Box<[_]>>(),
        );
        m.tool_calls = calls.into();
        m
    }

    /// A tool result message.
    pub fn tool_result(
        call_id: impl AsRef<str>,
        name: impl AsRef<str>,
        parts: impl Into<Box<[ContentPart]>>,
    ) -> Self {
        let mut m = Self::new(Role::Tool, parts);
        m.tool_call_id = Some(call_id.as_ref().into());
        m.name = Some(name.as_ref().into());
        m
    }

    /// Appends a part (the parts are a boxed slice, so this reallocates it).
    pub fn push_part(&mut self, part: ContentPart) {
        let mut parts = std::mem::take(&mut self.parts).into_vec();
        parts.push(part);
        self.parts = parts.into_boxed_slice();
    }

    /// All text parts joined with newlines.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            if let ContentPart::Text { text } = p {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(text);
            }
        }
        out
    }

    /// The media parts.
    pub fn media(&self) -> impl Iterator<Item = &MediaContent> {
        self.parts.iter().filter_map(ContentPart::as_media)
    }

    /// Releases spare capacity of every string and list in the message, so a
    /// message kept in history for a long time holds only what it needs.
    /// (Lists and the tool fields are already exact; this shrinks text.)
    pub fn shrink_to_fit(&mut self) {
        for p in self.parts.iter_mut() {
            if let ContentPart::Text { text } = p {
                text.shrink_to_fit();
            }
        }
    }

    /// Bytes of media held inline in this message.
    pub fn inline_media_bytes(&self) -> usize {
        self.media().map(MediaContent::inline_len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_stay_small_in_history() {
        // History holds many parts; media is boxed so a text part is not
        // padded to the size of `MediaContent`.
        assert!(std::mem::size_of::<ContentPart>() <= 32);
        let m = MediaContent::from_bytes("image/png", vec![1, 2, 3]);
        let p = ContentPart::media(m.clone());
        assert_eq!(p.as_media(), Some(&m));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["type"], "media");
        assert_eq!(serde_json::from_value::<ContentPart>(json).unwrap(), p);
    }
}
