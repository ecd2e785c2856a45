//! The conversation API: `ConversationManager` and `Conversation`.
#![warn(missing_docs, unreachable_pub)]
