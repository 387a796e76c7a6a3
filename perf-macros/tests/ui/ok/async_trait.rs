use async_trait::async_trait;
use perf_core::timed;

#[async_trait]
trait Repo {
    async fn load(&self, id: u32) -> Result<String, String>;

    #[timed]
    async fn load_default(&self) -> Result<String, String> {
        self.load(0).await
    }
}

struct Db;

#[async_trait]
impl Repo for Db {
    #[timed]
    async fn load(&self, id: u32) -> Result<String, String> {
        if id == 0 {
            return Err("zero".into());
        }
        Ok(id.to_string())
    }
}

struct Cache;

#[timed(slow = "10ms")]
#[async_trait]
impl Repo for Cache {
    async fn load(&self, id: u32) -> Result<String, String> {
        Ok(format!("cached {id}"))
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let _ = Db.load(1).await;
        let _ = Db.load_default().await;
        let _ = Cache.load(1).await;
    });
}
