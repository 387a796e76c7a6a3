//! Every shape `#[llm_call]` accepts.

use std::sync::Arc;

use perf_llm::providers::{anthropic, openai};
use perf_llm::{llm_call, BudgetExceeded, LlmMeter};
use serde_json::Value;

#[derive(Debug)]
enum MyError {
    Parse(std::num::ParseIntError),
    Budget(BudgetExceeded),
}

impl From<std::num::ParseIntError> for MyError {
    fn from(e: std::num::ParseIntError) -> Self {
        MyError::Parse(e)
    }
}

impl From<BudgetExceeded> for MyError {
    fn from(e: BudgetExceeded) -> Self {
        MyError::Budget(e)
    }
}

type MyResult<T> = Result<T, MyError>;

struct Client {
    model: String,
}

#[llm_call(provider = "openai", operation = "chat")]
async fn ask(client: &Client, prompt: &str) -> Result<Value, MyError> {
    let _ = (client, prompt);
    Ok(Value::Null)
}

/// `?` and `return` convert to the fn's error type as without the attribute.
#[llm_call(provider = "openai")]
async fn question_mark(n: &str) -> MyResult<Value> {
    let n: u32 = n.parse()?;
    if n == 0 {
        return Err(MyError::Parse("x".parse::<u32>().unwrap_err()));
    }
    Ok(Value::from(n))
}

#[llm_call(provider = "openai", model = model)]
async fn typed_openai(model: &str) -> Result<openai::ChatCompletion, MyError> {
    let _ = model;
    todo!()
}

#[llm_call(provider = "anthropic", model = req.0.clone(), user = req.1, endpoint = "summarise")]
async fn typed_anthropic(req: (String, &'static str)) -> Result<anthropic::Message, MyError> {
    todo!()
}

/// No budget check: the error type needs no `From<BudgetExceeded>`.
#[llm_call(provider = "openai", operation = "embeddings", budget = false)]
async fn embed(text: String) -> std::io::Result<Value> {
    Ok(Value::from(text))
}

#[llm_call(provider = "openai")]
async fn boxed_error() -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    Err("no".into())
}

#[llm_call(provider = "openai")]
async fn generic<T: Into<Value> + Send>(t: T) -> Result<Value, MyError> {
    Ok(t.into())
}

struct Service {
    client: Client,
    meter: Arc<LlmMeter>,
}

impl Service {
    #[llm_call(provider = "openai", model = self.client.model.clone(), meter = self.meter.clone())]
    async fn method(&self, prompt: &str) -> Result<Value, MyError> {
        let _ = prompt;
        Ok(Value::Null)
    }

    #[llm_call(provider = "openai", model = &self.client.model, meter = &*self.meter)]
    async fn borrowed_meter(self: Arc<Self>) -> Result<Value, MyError> {
        Ok(Value::Null)
    }
}

/// A fn returning the future itself, as `#[async_trait]` writes.
#[llm_call(provider = "openai")]
fn returns_a_future(
    prompt: String,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, MyError>> + Send>> {
    Box::pin(async move { Ok(Value::from(prompt)) })
}

#[llm_call(provider = "openai")]
fn returns_impl_future() -> impl std::future::Future<Output = Result<Value, MyError>> {
    async move { Ok(Value::Null) }
}

#[async_trait::async_trait]
trait Chat {
    async fn chat(&self, prompt: &str) -> Result<Value, MyError>;
}

#[async_trait::async_trait]
impl Chat for Client {
    #[llm_call(provider = "openai", model = self.model.clone())]
    async fn chat(&self, prompt: &str) -> Result<Value, MyError> {
        Ok(Value::from(prompt))
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let client = Client {
        model: "gpt-4o".into(),
    };
    assert_send(ask(&client, "hi"));
    assert_send(question_mark("1"));
    assert_send(embed(String::new()));
    assert_send(generic(1u8));
    assert_send(returns_a_future(String::new()));
    let _ = (typed_openai, typed_anthropic, boxed_error, returns_impl_future);
    let service = Arc::new(Service {
        client,
        meter: Arc::new(LlmMeter::new()),
    });
    assert_send(service.method("hi"));
    assert_send(service.clone().borrowed_meter());
    assert_send(service.client.chat("hi"));
}
