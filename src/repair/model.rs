//! The model boundary: one chat completion in, text and token usage out.
//!
//! [`OpenAiModel`] talks to any OpenAI-compatible endpoint (OpenAI, Azure-style
//! gateways, Ollama, vLLM) through async-openai. Its client already retries rate
//! limits (429, but not `insufficient_quota`), server errors (5xx) and refused
//! connections three times with exponential back-off, honouring `Retry-After`;
//! on top of that a call that times out is tried again up to `MODEL_MAX_RETRIES`
//! times. Anything else fails at once, so the number of requests per call is bounded.
//!
//! Invariant: the API key is only ever placed in the request header by
//! async-openai; it is never part of an error message.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs,
};
use serde::Serialize;

use crate::config::ModelSettings;

/// A boxed future, so the model can sit behind `dyn Model`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Tokens spent, as the server reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt: u64,
    /// Completion tokens.
    pub completion: u64,
    /// Prompt tokens the server took from its prompt cache, when it says
    /// (`usage.prompt_tokens_details.cached_tokens`: OpenAI, vLLM, llama.cpp).
    pub cached: u64,
}

impl Usage {
    /// Adds another call's usage.
    pub fn add(&mut self, other: Usage) {
        self.prompt += other.prompt;
        self.completion += other.completion;
        self.cached += other.cached;
    }

    /// Prompt plus completion.
    pub fn total(&self) -> u64 {
        self.prompt + self.completion
    }
}

/// One chat request.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The system message.
    pub system: String,
    /// The user message.
    pub user: String,
    /// Sampling temperature: 0 for the first try, higher to get a different answer.
    pub temperature: f32,
}

/// The model's answer.
#[derive(Debug, Clone)]
pub struct ChatReply {
    /// The text of the first choice.
    pub content: String,
    /// Tokens used by this call.
    pub usage: Usage,
    /// Why the model stopped (`stop`, `length`, ...), when the server says.
    pub finish_reason: Option<String>,
}

/// A model call that did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The server answered with an error status.
    #[error("model endpoint answered HTTP {status}: {message}")]
    Http {
        /// The status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// No answer in time.
    #[error("model endpoint did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed.
    #[error("could not reach the model endpoint: {0}")]
    Transport(String),
    /// The answer was not a chat completion.
    #[error("the model endpoint's answer is not a chat completion: {0}")]
    Malformed(String),
    /// The request could not be built.
    #[error("could not build the model request: {0}")]
    Request(String),
}

impl ModelError {
    /// Whether trying again here may help: only time-outs, since the client has
    /// already retried rate limits, server errors and refused connections.
    pub fn retryable(&self) -> bool {
        matches!(self, ModelError::Timeout(_))
    }
}

/// Anything that answers chat requests.
pub trait Model: Send + Sync {
    /// A short description for logs and results (`gpt-4o-mini at http://…`).
    fn describe(&self) -> String;
    /// Sends one request, retrying as the implementation sees fit.
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatReply, ModelError>>;
}

/// An OpenAI-compatible chat endpoint.
pub struct OpenAiModel {
    client: Client<OpenAIConfig>,
    settings: ModelSettings,
}

impl OpenAiModel {
    /// A client for the configured endpoint.
    pub fn new(settings: &ModelSettings) -> Result<Self, ModelError> {
        let mut config = OpenAIConfig::new().with_api_base(settings.base_url.clone());
        config = config.with_api_key(settings.api_key.as_ref().map(|k| k.expose().to_string()).unwrap_or_default());
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ModelError::Request(e.to_string()))?;
        Ok(Self { client: Client::build(http, config), settings: settings.clone() })
    }

    async fn once(&self, request: &ChatRequest) -> Result<ChatReply, ModelError> {
        let messages: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestSystemMessage::from(request.system.as_str()).into(),
            ChatCompletionRequestUserMessage::from(request.user.as_str()).into(),
        ];
        let body = CreateChatCompletionRequestArgs::default()
            .model(self.settings.model.clone())
            .messages(messages)
            .temperature(request.temperature)
            .build()
            .map_err(|e| ModelError::Request(e.to_string()))?;
        let response = self.client.chat().create(body).await.map_err(|e| self.map_error(e))?;
        let choice = response.choices.into_iter().next();
        let usage = response
            .usage
            .map(|u| Usage {
                prompt: u64::from(u.prompt_tokens),
                completion: u64::from(u.completion_tokens),
                cached: u.prompt_tokens_details.and_then(|d| d.cached_tokens).map_or(0, u64::from),
            })
            .unwrap_or_default();
        let finish_reason = choice
            .as_ref()
            .and_then(|c| c.finish_reason.as_ref())
            .and_then(|r| serde_json::to_value(r).ok())
            .and_then(|v| v.as_str().map(str::to_string));
        let content = choice.and_then(|c| c.message.content).unwrap_or_default();
        Ok(ChatReply { content, usage, finish_reason })
    }

    fn map_error(&self, e: OpenAIError) -> ModelError {
        match e {
            OpenAIError::ApiError(api) => ModelError::Http {
                status: api.status_code.as_u16(),
                message: crate::analysis::truncate(&api.api_error.message, 300),
            },
            OpenAIError::Reqwest(r) if r.is_timeout() => ModelError::Timeout(self.settings.timeout),
            OpenAIError::Reqwest(r) => match r.status() {
                Some(s) => ModelError::Http { status: s.as_u16(), message: String::new() },
                None => ModelError::Transport(without_url(&r)),
            },
            OpenAIError::JSONDeserialize(err, body) => {
                ModelError::Malformed(format!("{err} in {:?}", crate::analysis::truncate(&body, 200)))
            }
            other => ModelError::Malformed(other.to_string()),
        }
    }
}

/// A transport error's text without the URL (which may carry credentials in user-info).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<model endpoint>");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Model for OpenAiModel {
    fn describe(&self) -> String {
        format!("{} at {}", self.settings.model, self.settings.base_url)
    }

    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatReply, ModelError>> {
        Box::pin(async move {
            let mut delay = self.settings.retry_delay;
            let mut tries = 0;
            loop {
                match self.once(request).await {
                    Ok(reply) => return Ok(reply),
                    Err(e) if e.retryable() && tries < self.settings.max_retries => {
                        tries += 1;
                        tracing::warn!(error = %e, retry = tries, of = self.settings.max_retries, "model call failed; retrying in {delay:?}");
                        tokio::time::sleep(delay).await;
                        delay = delay.saturating_mul(2).min(Duration::from_secs(30));
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }
}
