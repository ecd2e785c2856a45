//! The turn engine: provider call, tool loop, validation, externalization, commit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedSender;
use promptkit_core::{
    ChatRequest, ChatResponse, ContentPart, Cost, Message, Role, StreamEvent, ToolCall, ToolChoice,
    Usage,
};
use tracing::Instrument;

use crate::StoredMedia;
use crate::media::{Loaded, externalize, rehydrate};
use crate::tools::ToolOutput;
use crate::{Conversation, ConversationEvent, Error, Response, Result};

/// A tool call's arguments, compared as JSON values (key order and spacing do
/// not matter), or as text when they are not JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CallArguments {
    Json(String),
    Text(String),
}

impl CallArguments {
    fn of(raw: &str) -> Self {
        match serde_json::from_str::<serde_json::Value>(raw) {
            // serde_json's maps are sorted, so this text is canonical.
            Ok(v) => CallArguments::Json(v.to_string()),
            Err(_) => CallArguments::Text(raw.trim().to_string()),
        }
    }
}

/// Where the result of a repeated call is.
#[derive(Debug, Clone, Copy)]
enum Repeat {
    /// The tool message at this index of the turn.
    Earlier(usize),
    /// The result of the call at this index of the same round.
    ThisRound(usize),
}

/// What became of one tool call of a round.
enum Outcome {
    /// It ran; the error is what the model is told.
    Ran(std::result::Result<ToolOutput, String>),
    /// It repeats an earlier call and was not run.
    Repeated(Repeat),
}

/// Limits for one turn, from the pack's tool policy or the manager's defaults.
struct TurnPolicy {
    max_rounds: u32,
    max_calls: u32,
    blocklist: Vec<String>,
    tool_choice: Option<ToolChoice>,
}

type Events = Option<UnboundedSender<ConversationEvent>>;

fn emit(events: &Events, ev: ConversationEvent) {
    if let Some(tx) = events {
        let _ = tx.unbounded_send(ev);
    }
}

impl Conversation {
    fn turn_policy(&self) -> TurnPolicy {
        let cfg = &self.inner.config;
        let mut p = TurnPolicy {
            max_rounds: cfg.max_tool_rounds,
            max_calls: cfg.max_tool_calls_per_turn,
            blocklist: Vec::new(),
            tool_choice: None,
        };
        if let Some(tp) = self
            .pack
            .prompt(&self.prompt_name)
            .and_then(|pr| pr.tool_policy.as_ref())
        {
            if let Some(r) = tp.max_rounds {
                p.max_rounds = r.max(1);
            }
            if let Some(c) = tp.max_tool_calls_per_turn {
                p.max_calls = c;
            }
            p.blocklist = tp.blocklist.clone();
            p.tool_choice = tp.tool_choice.map(Into::into);
        }
        p
    }

    async fn build_request(
        &self,
        turn: &[Message],
        policy: &TurnPolicy,
        loaded: &mut Loaded,
    ) -> Result<ChatRequest> {
        let prompt = self
            .pack
            .prompt(&self.prompt_name)
            .ok_or_else(|| Error::Config(format!("prompt `{}` vanished", self.prompt_name)))?;
        let system = Message::system(self.system.clone());
        // Collected here: an iterator (with its closure) kept across the
        // awaits below would make the turn's future not `Send`.
        let all: Vec<&Message> = std::iter::once(&system)
            .chain(self.history.iter().map(|m| &**m))
            .chain(turn)
            .collect();
        let messages = rehydrate(
            self.inner.store.as_ref(),
            &all,
            turn.len(),
            self.rehydration(),
            loaded,
        )
        .await?;
        let mut req = ChatRequest::new(messages);
        req.tools = self
            .pack
            .tool_definitions(prompt)?
            .into_iter()
            .filter(|t| !policy.blocklist.contains(&t.name))
            .collect();
        if !req.tools.is_empty() {
            req.tool_choice = policy.tool_choice.clone();
        }
        req.parameters = match self.inner.provider.default_model() {
            Some(model) => prompt.parameters_for_model(model),
            None => prompt.parameters(),
        };
        Ok(req)
    }

    async fn call_provider(&self, req: &ChatRequest, events: &Events) -> Result<ChatResponse> {
        let inner = &self.inner;
        let _permit = inner
            .limiter
            .acquire()
            .await
            .map_err(|_| Error::Config("manager is shutting down".into()))?;
        let timeout = inner.config.default_timeout;
        let timed_out = || promptkit_core::Error::Timeout {
            operation: format!("{} chat call", inner.provider.id()),
            after: timeout,
        };
        let span = tracing::info_span!(
            "provider_call",
            provider = inner.provider.id(),
            messages = req.messages.len()
        );
        if events.is_none() {
            return tokio::time::timeout(timeout, inner.provider.chat(req))
                .instrument(span)
                .await
                .map_err(|_| timed_out())?
                .map_err(Error::from);
        }
        let fut = async {
            let mut stream = inner.provider.chat_stream(req).await?;
            while let Some(ev) = stream.next().await {
                match ev? {
                    StreamEvent::TextDelta(t) => emit(events, ConversationEvent::TextDelta(t)),
                    StreamEvent::Done(resp) => return Ok(resp),
                    _ => {}
                }
            }
            Err(promptkit_core::Error::Decode {
                what: "chat stream".into(),
                message: "stream ended without a final response".into(),
            })
        };
        tokio::time::timeout(timeout, fut)
            .instrument(span)
            .await
            .map_err(|_| timed_out())?
            .map_err(Error::from)
    }

    /// Runs one tool call; the error is what the model will be told.
    async fn run_tool(
        &self,
        call: &ToolCall,
        policy: &TurnPolicy,
        within_budget: bool,
    ) -> std::result::Result<ToolOutput, String> {
        if !within_budget {
            return Err(format!(
                "tool call limit of {} per turn reached",
                policy.max_calls
            ));
        }
        if policy.blocklist.iter().any(|b| **b == *call.name) {
            return Err(format!("tool `{}` is not allowed", call.name));
        }
        let handler = self
            .inner
            .tools
            .get(&call.name)
            .ok_or_else(|| format!("tool `{}` is not available", call.name))?;
        let args: serde_json::Value = if call.arguments.trim().is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(&call.arguments)
                .map_err(|e| format!("invalid arguments JSON for `{}`: {e}", call.name))?
        };
        let span = tracing::info_span!("tool_call", tool = %call.name, id = %call.id);
        match tokio::time::timeout(self.inner.config.default_timeout, handler.call(args))
            .instrument(span)
            .await
        {
            Ok(r) => r.map_err(|e| e.0),
            Err(_) => Err(format!(
                "tool `{}` timed out after {:?}",
                call.name, self.inner.config.default_timeout
            )),
        }
    }

    /// Moves the media of `turn[range]` at or above the threshold to the
    /// store (when externalization is on), adding what was stored to `stored`
    /// and failures to `warnings`.
    ///
    /// The bytes of what was stored go into `loaded`, so later requests of
    /// the turn do not read them back from the store.
    async fn externalize_range(
        &self,
        turn: &mut [Message],
        range: std::ops::Range<usize>,
        loaded: &mut Loaded,
        stored: &mut Vec<StoredMedia>,
        warnings: &mut Vec<String>,
    ) {
        if !self.inner.config.externalize {
            return;
        }
        let Some(store) = &self.inner.store else {
            return;
        };
        let meta = self.media_metadata();
        let first = self.history.len() + range.start;
        let (s, w) = externalize(
            store,
            &mut turn[range],
            first,
            self.inner.config.threshold_bytes(),
            &meta,
            loaded,
        )
        .await;
        stored.extend(s);
        warnings.extend(w);
    }

    pub(crate) async fn run_turn(&mut self, user: Message, events: Events) -> Result<Response> {
        if user.media().next().is_none() && user.text().is_empty() {
            return Err(Error::invalid(
                "message",
                "the message has no text and no media",
            ));
        }
        let started = Instant::now();
        let policy = self.turn_policy();
        let mut turn = vec![user];
        let mut usage = Usage::default();
        let mut cost = Cost::default();
        let mut all_calls = Vec::new();
        let mut rounds = 0u32;
        let mut loaded = Loaded::new();
        let mut stored_media = Vec::new();
        let mut warnings = Vec::new();
        // Calls run so far in this turn: (name, arguments) → index in `turn`
        // of the tool message holding the result.
        let mut ran: HashMap<(String, CallArguments), usize> = HashMap::new();
        let content = loop {
            let req = self.build_request(&turn, &policy, &mut loaded).await?;
            let resp = self.call_provider(&req, &events).await?;
            drop(req);
            usage += resp.usage;
            cost += resp.cost.unwrap_or_default();
            let calls = resp.message.tool_calls.clone();
            let text = resp.message.text();
            turn.push(resp.message);
            if calls.is_empty() {
                break text;
            }
            rounds += 1;
            if rounds > policy.max_rounds {
                // Billed all the same: the conversation's totals keep it,
                // saved as after any turn (history is unchanged).
                self.usage += usage;
                self.cost += cost;
                if let Err(e) = self.inner.state.save(&self.state()).await {
                    tracing::warn!(error = %e, conversation = %self.id, "saving conversation state failed");
                }
                return Err(Error::ToolRoundsExceeded {
                    max_rounds: policy.max_rounds,
                    tool_calls: all_calls.len(),
                    usage,
                    cost,
                    stored_media,
                });
            }
            let budget = (policy.max_calls as usize).saturating_sub(all_calls.len());
            for c in &calls {
                emit(&events, ConversationEvent::ToolCall(c.clone()));
            }
            // A call repeating one made earlier in this turn (or in this
            // round) is not run again unless the app allows it.
            let mut first_of_round: HashMap<(String, CallArguments), usize> = HashMap::new();
            let repeats: Vec<Option<Repeat>> = calls
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if self.inner.config.rerun_repeated_tool_calls {
                        return None;
                    }
                    let key = (c.name.to_string(), CallArguments::of(&c.arguments));
                    if let Some(&at) = ran.get(&key) {
                        return Some(Repeat::Earlier(at));
                    }
                    match first_of_round.entry(key) {
                        std::collections::hash_map::Entry::Occupied(e) => {
                            Some(Repeat::ThisRound(*e.get()))
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(i);
                            None
                        }
                    }
                })
                .collect();
            let (this, policy) = (&*self, &policy);
            let runs = calls.iter().zip(&repeats).enumerate().map(|(i, (c, r))| {
                let repeat = *r;
                async move {
                    match repeat {
                        Some(earlier) => Outcome::Repeated(earlier),
                        None => Outcome::Ran(this.run_tool(c, policy, i < budget).await),
                    }
                }
            });
            let results = futures::future::join_all(runs).await;
            let first_result = turn.len();
            for (c, result) in calls.iter().zip(results) {
                let (parts, error) = match result {
                    Outcome::Ran(Ok(out)) => {
                        usage += out.usage;
                        cost += out.cost.unwrap_or_default();
                        (out.parts, None)
                    }
                    Outcome::Ran(Err(msg)) => {
                        tracing::warn!(tool = %c.name, error = %msg, "tool call failed");
                        (vec![ContentPart::text(format!("error: {msg}"))], Some(msg))
                    }
                    Outcome::Repeated(repeat) => {
                        let earlier = match repeat {
                            Repeat::Earlier(at) => at,
                            Repeat::ThisRound(j) => first_result + j,
                        };
                        let before = turn.get(earlier);
                        let id = before
                            .and_then(|m| m.tool_call_id.as_deref())
                            .unwrap_or("?");
                        let result = before.map(|m| m.text()).unwrap_or_default();
                        tracing::info!(tool = %c.name, earlier = id, "repeated tool call not run again");
                        let text = format!(
                            "not run again: `{}` was already called with these arguments in this \
                             turn (call {id}). Its result: {result}",
                            c.name
                        );
                        (vec![ContentPart::text(text)], None)
                    }
                };
                emit(
                    &events,
                    ConversationEvent::ToolResult {
                        call_id: c.id.to_string(),
                        name: c.name.to_string(),
                        error,
                    },
                );
                turn.push(Message::tool_result(&c.id, &c.name, parts));
            }
            for (i, c) in calls.iter().enumerate() {
                if repeats[i].is_none() {
                    let key = (c.name.to_string(), CallArguments::of(&c.arguments));
                    ran.insert(key, first_result + i);
                }
            }
            // The tools' media goes to the store now: the model is told its
            // reference, and nothing the tools made is lost if the turn fails.
            let results = first_result..turn.len();
            self.externalize_range(
                &mut turn,
                results,
                &mut loaded,
                &mut stored_media,
                &mut warnings,
            )
            .await;
            all_calls.extend(calls);
        };
        warnings.extend(self.validate(&content)?);
        // The rest of the turn's media: the user's, and any the model sent
        // (tool results were handled as they came, failures included).
        for i in 0..turn.len() {
            if turn[i].role != Role::Tool {
                self.externalize_range(
                    &mut turn,
                    i..i + 1,
                    &mut loaded,
                    &mut stored_media,
                    &mut warnings,
                )
                .await;
            }
        }
        stored_media.sort_by_key(|m| (m.message_index, m.part_index));
        // Media bytes this turn freed: images loaded back for its requests
        // and the media it moved to the store.
        let freed: u64 = loaded.values().map(|d| d.len() as u64).sum();
        drop(loaded);

        let turn: Vec<Arc<Message>> = turn
            .into_iter()
            .map(|mut m| {
                m.shrink_to_fit();
                Arc::new(m)
            })
            .collect();
        self.history = self.history.iter().chain(&turn).cloned().collect();
        self.usage += usage;
        self.cost += cost;
        if let Err(e) = self.inner.state.save(&self.state()).await {
            tracing::warn!(error = %e, conversation = %self.id, "saving conversation state failed");
            warnings.push(format!("conversation state not saved: {e}"));
        }
        if self.inner.config.release_memory {
            crate::memory::note_media_bytes(freed);
        }
        Ok(Response {
            content,
            messages: turn,
            tool_calls: all_calls,
            usage,
            cost,
            latency: started.elapsed(),
            stored_media,
            warnings,
        })
    }

    /// Runs the prompt's validators; a violation of one with
    /// `fail_on_violation` is an error, others become warnings.
    fn validate(&self, content: &str) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        let Some(prompt) = self.pack.prompt(&self.prompt_name) else {
            return Ok(warnings);
        };
        for v in prompt.validators.iter().filter(|v| v.enabled) {
            if let Err(violation) = v.check(content) {
                if violation.fail_on_violation {
                    return Err(Error::Validation {
                        validator: violation.validator_type,
                        message: violation.message,
                    });
                }
                warnings.push(format!(
                    "validator `{}`: {}",
                    violation.validator_type, violation.message
                ));
            }
        }
        Ok(warnings)
    }
}
