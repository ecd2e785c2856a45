use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::Stream;
use promptkit_core::{
    ContentPart, Cost, MediaContent, MediaKind, Message, StorageReference, Usage,
};
use promptkit_media_store::MediaMetadata;
use promptkit_pack::{Pack, Prompt};

use crate::manager::Inner;
use crate::state::{ConversationState, validate_id};
use crate::{
    ConversationConfig, ConversationEvent, Error, MemoryStats, RehydrationPolicy, Response, Result,
};

/// One conversation: a prompt of a pack, its history, and the turn engine.
///
/// Turns are atomic: when [`Conversation::send`] fails (or a stream is dropped
/// part-way), history is left as it was before the turn, and nothing of the
/// failed turn is stored.
///
/// ```
/// use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider, MockReply};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// // The provider's first call fails with HTTP 500; then it answers normally.
/// let manager = ConversationManager::builder()
///     .provider(MockProvider::scripted(vec![MockReply::Fail(500)]))
///     .config(ManagerConfig { externalize: false, ..Default::default() })
///     .build()
///     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "hello", "name": "Hello", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You are helpful."}}
/// # }"#).unwrap());
/// let config = ConversationConfig::new("u1", "s1").with_conversation_id("support-42");
/// let mut conv = manager.new_conversation(&pack, config).unwrap();
/// assert_eq!(conv.system_prompt(), "You are helpful.");
/// assert!(conv.send("hello").await.is_err());
/// assert!(conv.history().is_empty()); // the failed turn left no trace
/// conv.send("hello").await.unwrap();
/// assert_eq!(conv.history().len(), 2);
/// // Each turn is saved, so the conversation can be resumed later.
/// let resumed = manager.resume("support-42").await.unwrap();
/// assert_eq!(resumed.history(), conv.history());
/// # });
/// ```
#[derive(Debug)]
pub struct Conversation {
    pub(crate) inner: Arc<Inner>,
    pub(crate) pack: Arc<Pack>,
    pub(crate) prompt_name: String,
    pub(crate) system: String,
    pub(crate) id: String,
    pub(crate) session_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) run_id: Option<String>,
    pub(crate) variables: BTreeMap<String, String>,
    /// Shared with the saved state; a turn replaces it with a longer list.
    pub(crate) history: Arc<[Arc<Message>]>,
    pub(crate) usage: Usage,
    pub(crate) cost: Cost,
    /// This conversation's rehydration, if not the manager's (not saved).
    pub(crate) rehydration: Option<RehydrationPolicy>,
}

fn resolve_prompt<'a>(pack: &'a Pack, name: Option<&str>) -> Result<(&'a str, &'a Prompt)> {
    let names: Vec<&str> = pack.prompt_names().collect();
    let name = match name {
        Some(n) => n,
        None if names.len() == 1 => names[0],
        None => {
            return Err(Error::invalid(
                "prompt_name",
                format!(
                    "pack `{}` has {} prompts; choose one of: {}",
                    pack.id,
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
    };
    let prompt = pack.prompt(name).ok_or_else(|| Error::PromptNotFound {
        name: name.to_owned(),
        pack: pack.id.clone(),
        available: names.join(", "),
    })?;
    let key = names
        .into_iter()
        .find(|n| *n == name)
        .ok_or_else(|| Error::Config(format!("prompt `{name}` has no key")))?;
    Ok((key, prompt))
}

/// Renders the system prompt, with the pack's `model_overrides` for the
/// provider's model applied.
fn render_system(
    inner: &Inner,
    pack: &Pack,
    prompt: &Prompt,
    vars: &BTreeMap<String, String>,
) -> Result<String> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    Ok(match inner.provider.default_model() {
        Some(model) => pack.render_system_for_model(prompt, model, &vars)?,
        None => pack.render_system(prompt, &vars)?,
    })
}

impl Conversation {
    pub(crate) fn create(
        inner: Arc<Inner>,
        pack: Arc<Pack>,
        config: ConversationConfig,
    ) -> Result<Self> {
        let (prompt_name, prompt) = resolve_prompt(&pack, config.prompt_name.as_deref())?;
        let prompt_name = prompt_name.to_owned();
        for (field, v) in [
            ("session_id", &config.session_id),
            ("user_id", &config.user_id),
            ("run_id", &config.run_id),
        ] {
            if let Some(v) = v {
                validate_id(field, v)?;
            }
        }
        let id = match config.conversation_id {
            Some(id) => {
                validate_id("conversation_id", &id)?;
                id
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let variables: BTreeMap<String, String> = config.variables.into_iter().collect();
        let system = render_system(&inner, &pack, prompt, &variables)?;
        // Fail early on tools the pack references but does not define.
        pack.tool_definitions(prompt)?;
        Ok(Conversation {
            inner,
            prompt_name,
            system,
            id,
            session_id: config.session_id,
            user_id: config.user_id,
            run_id: config.run_id,
            variables,
            history: Arc::default(),
            usage: Usage::default(),
            cost: Cost::default(),
            rehydration: config.rehydration,
            pack,
        })
    }

    pub(crate) fn restore(
        inner: Arc<Inner>,
        pack: Arc<Pack>,
        s: ConversationState,
    ) -> Result<Self> {
        let (_, prompt) = resolve_prompt(&pack, Some(&s.prompt_name))?;
        let system = render_system(&inner, &pack, prompt, &s.variables)?;
        Ok(Conversation {
            inner,
            system,
            pack,
            prompt_name: s.prompt_name,
            id: s.conversation_id,
            session_id: s.session_id,
            user_id: s.user_id,
            run_id: s.run_id,
            variables: s.variables,
            history: s.history,
            usage: s.usage,
            cost: s.cost,
            rehydration: None,
        })
    }

    /// Which stored media this conversation's requests load: its own policy
    /// ([`ConversationConfig::rehydration`], [`Self::set_rehydration`]) or the
    /// manager's.
    pub fn rehydration(&self) -> RehydrationPolicy {
        self.rehydration.unwrap_or(self.inner.config.rehydration)
    }

    /// Sets this conversation's rehydration policy (it is not part of the
    /// saved state: set it again after [`ConversationManager::resume`](crate::ConversationManager::resume)).
    ///
    /// ```
    /// use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider, RehydrationPolicy};
    /// # let manager = ConversationManager::builder()
    /// #     .provider(MockProvider::new())
    /// #     .config(ManagerConfig { externalize: false, ..Default::default() })
    /// #     .build()
    /// #     .unwrap();
    /// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
    /// #   "id": "hello", "name": "Hello", "version": "1.0.0",
    /// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
    /// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
    /// #     "system_template": "You are helpful."}}
    /// # }"#).unwrap());
    /// let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
    /// assert_eq!(conv.rehydration(), RehydrationPolicy::CurrentTurn); // the default
    /// conv.set_rehydration(RehydrationPolicy::Recent(2));
    /// assert_eq!(conv.rehydration(), RehydrationPolicy::Recent(2));
    /// ```
    pub fn set_rehydration(&mut self, policy: RehydrationPolicy) {
        self.rehydration = Some(policy);
    }

    /// The state saved after each turn.
    pub fn state(&self) -> ConversationState {
        ConversationState {
            conversation_id: self.id.clone(),
            session_id: self.session_id.clone(),
            user_id: self.user_id.clone(),
            run_id: self.run_id.clone(),
            pack_id: self.pack.id.clone(),
            prompt_name: self.prompt_name.clone(),
            variables: self.variables.clone(),
            history: Arc::clone(&self.history),
            usage: self.usage,
            cost: self.cost,
        }
    }

    /// Conversation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Session id.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The rendered system prompt.
    pub fn system_prompt(&self) -> &str {
        &self.system
    }

    /// History so far (system prompt excluded). Messages are shared (`Arc`)
    /// with responses and the in-memory state store, never copied.
    pub fn history(&self) -> &[Arc<Message>] {
        &self.history
    }

    /// Usage over all turns.
    pub fn total_usage(&self) -> Usage {
        self.usage
    }

    /// Cost over all turns.
    pub fn total_cost(&self) -> Cost {
        self.cost
    }

    /// What the history holds in memory, counted in bytes.
    pub fn memory_stats(&self) -> MemoryStats {
        let mut s = MemoryStats {
            messages: self.history.len(),
            ..MemoryStats::default()
        };
        for m in self.history.iter().flat_map(|m| m.media()) {
            s.media_parts += 1;
            s.inline_media_bytes += m.inline_len();
            s.represented_media_bytes += m.size_bytes.max(m.inline_len() as u64);
            if let Some(r) = &m.storage_reference {
                s.externalized_parts += 1;
                s.reference_bytes += r.heap_size();
            }
        }
        s
    }

    /// Loads media behind a reference from the manager's store.
    pub async fn load_media(&self, reference: &StorageReference) -> Result<MediaContent> {
        let store = self
            .inner
            .store
            .as_ref()
            .ok_or_else(|| Error::Config("this manager has no media store".into()))?;
        Ok(store.retrieve(reference).await?)
    }

    /// Sends a user message and runs the turn (including tool calls) to its end.
    pub async fn send(&mut self, text: impl Into<String>) -> Result<Response> {
        self.run_turn(Message::user(text), None).await
    }

    /// Sends a user message with media attached (checked against the prompt's
    /// `media` config; large media is externalized after the turn).
    pub async fn send_with_media(
        &mut self,
        text: impl Into<String>,
        media: Vec<MediaContent>,
    ) -> Result<Response> {
        let text = text.into();
        let (text, media) = self.check_media(text, media).await?;
        let mut parts = Vec::with_capacity(media.len() + 1);
        if !text.is_empty() {
            parts.push(ContentPart::text(text));
        }
        parts.extend(media.into_iter().map(ContentPart::media));
        self.run_turn(Message::user_with_parts(parts), None).await
    }

    /// Sends a user message and streams the turn's events; the last event is
    /// [`ConversationEvent::Done`]. Dropping the stream cancels the turn and
    /// leaves history unchanged.
    pub fn stream(
        &mut self,
        text: impl Into<String>,
    ) -> impl Stream<Item = Result<ConversationEvent>> + '_ {
        let (tx, mut rx) = futures::channel::mpsc::unbounded();
        let msg = Message::user(text);
        async_stream::stream! {
            use futures::StreamExt;
            let turn = self.run_turn(msg, Some(tx));
            futures::pin_mut!(turn);
            let result = loop {
                tokio::select! {
                    biased;
                    Some(ev) = rx.next() => yield Ok(ev),
                    res = &mut turn => break res,
                }
            };
            while let Ok(ev) = rx.try_recv() {
                yield Ok(ev);
            }
            match result {
                Ok(resp) => yield Ok(ConversationEvent::Done(Box::new(resp))),
                Err(e) => yield Err(e),
            }
        }
    }

    /// Checks the media before the turn: each item has bytes, a URL or a
    /// reference, and a MIME type its bytes agree with; then the prompt's
    /// `media` rules, with `text` as the caption of the images
    /// (`image.require_caption`) and durations and page counts measured.
    /// Measuring parses audio, video and documents, so when such bytes are
    /// inline it runs on the blocking pool, not on the async worker.
    /// Returns the text and media it was given.
    async fn check_media(
        &self,
        text: String,
        media: Vec<MediaContent>,
    ) -> Result<(String, Vec<MediaContent>)> {
        for (i, m) in media.iter().enumerate() {
            if m.data.is_none() && m.url.is_none() && m.storage_reference.is_none() {
                return Err(Error::invalid(
                    format!("media[{i}]"),
                    "media has no data, URL or storage reference",
                ));
            }
            if m.data.as_ref().is_some_and(|d| d.is_empty()) {
                return Err(Error::invalid(format!("media[{i}]"), "media data is empty"));
            }
            // Malformed or lying MIME types are refused before the turn, not
            // discovered when the store refuses the media after it.
            let data = m.data.as_deref().unwrap_or_default();
            if let Err(e) = promptkit_media_store::check_declared_mime(&m.mime_type, data) {
                return Err(Error::invalid(
                    format!("media[{i}].mime_type"),
                    e.to_string(),
                ));
            }
        }
        let Some(cfg) = self
            .pack
            .prompt(&self.prompt_name)
            .and_then(|p| p.media.as_ref())
        else {
            return Ok((text, media));
        };
        let parses = media
            .iter()
            .any(|m| m.data.is_some() && m.kind() != MediaKind::Image);
        if !parses {
            cfg.check_message(&text, &media)?;
            return Ok((text, media));
        }
        let cfg = cfg.clone();
        let checked = tokio::task::spawn_blocking(move || {
            cfg.check_message(&text, &media).map(|()| (text, media))
        })
        .await;
        match checked {
            Ok(r) => Ok(r?),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Error::Config(format!("media check did not complete: {e}"))),
        }
    }

    pub(crate) fn media_metadata(&self) -> MediaMetadata {
        let mut m = MediaMetadata::new()
            .with_conversation(self.id.clone())
            .with_provider(self.inner.provider.id().to_owned())
            .with_policy(self.inner.config.media_default_policy);
        if let Some(s) = &self.session_id {
            m = m.with_session(s.clone());
        }
        if let Some(u) = &self.user_id {
            m = m.with_user(u.clone());
        }
        if let Some(r) = &self.run_id {
            m = m.with_run(r.clone());
        }
        m
    }
}
