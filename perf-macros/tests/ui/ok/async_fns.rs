use std::future::Future;
use std::pin::Pin;

use perf_core::timed;

#[derive(Debug)]
struct E;

impl From<std::num::ParseIntError> for E {
    fn from(_: std::num::ParseIntError) -> Self {
        E
    }
}

#[timed]
async fn plain() {}

#[timed]
async fn with_question_mark(s: &str) -> Result<u32, E> {
    let n = s.parse::<u32>()?;
    if n == 0 {
        return Err(E);
    }
    Ok(n)
}

#[timed]
async fn borrowing<'a>(s: &'a str, _t: &str) -> &'a str {
    s
}

#[timed]
async fn impl_trait_output() -> impl std::fmt::Debug {
    1
}

#[timed]
fn impl_future(x: u8) -> impl Future<Output = u8> {
    async move { x }
}

#[timed]
fn boxed_future(x: u8) -> Pin<Box<dyn Future<Output = Result<u8, E>> + Send>> {
    Box::pin(async move {
        let y: u8 = "1".parse()?;
        Ok(x + y)
    })
}

#[timed]
fn non_move_future<'a>(v: &'a mut Vec<u8>) -> impl Future<Output = ()> + 'a {
    async { v.push(1) }
}

struct Client;

impl Client {
    #[timed]
    async fn get(&self) -> Result<u8, E> {
        Ok(1)
    }

    #[timed]
    async fn consume(self) -> u8 {
        2
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    assert_send(plain());
    assert_send(with_question_mark("1"));
    assert_send(Client.get());
    let mut v = vec![];
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        plain().await;
        let _ = with_question_mark("1").await;
        borrowing("a", "b").await;
        impl_trait_output().await;
        impl_future(1).await;
        let _ = boxed_future(1).await;
        non_move_future(&mut v).await;
        let _ = Client.get().await;
        Client.consume().await;
    });
}
