use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Once};

use kata_docker::{Executor, ExecutorConfig};
use kata_server::{AppState, ServerConfig};
use kata_store::{DirKatas, Katas};
use kata_strategy::Runner;
use kata_wasi::{Guest, GuestConfig};
use serde_json::{Value, json};

pub const GCC: &str = "kata-runner/gcc";
pub const SMALL: &str = "kata-runner/busybox-bash";

static GUEST: LazyLock<Guest> = LazyLock::new(|| Guest::new(GuestConfig::default()).unwrap());

/// A server on 127.0.0.1, port chosen by the kernel, katas in a temp dir.
pub struct Server {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    _katas: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Self {
        Self::with(ServerConfig::default()).await
    }

    pub async fn with(config: ServerConfig) -> Self {
        static UMASK: Once = Once::new();
        UMASK.call_once(|| {
            rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o007));
        });
        let executor = Executor::connect(ExecutorConfig::default())
            .await
            .expect("the Docker engine is reachable (the tests need it)");
        let dir = tempfile::tempdir().unwrap();
        let katas = Katas::Dir(Arc::new(DirKatas::open(dir.path().join("katas")).unwrap()));
        let runner = Runner::new(GUEST.clone(), Arc::new(executor), Arc::new(katas));
        let state = AppState::new(Arc::new(runner), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = kata_server::app(state);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            client: reqwest::Client::new(),
            _katas: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request with a raw body, as cyber-dojo's web service sends them
    /// (`GET` with a JSON body): status and JSON answer.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let response = self
            .client
            .request(method, self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
        (status, json)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, body.to_string())
            .await
    }
}

/// cyber-dojo's gcc_assert start files: the test asserts 6 * 9 == 42.
pub fn c_assert(answer: &str) -> Value {
    json!({
        "cyber-dojo.sh": "make --no-print-directory\n",
        "makefile": "test: tests.out\n\t./tests.out\n\ntests.out: hiker.c hiker.h hiker.tests.c\n\tgcc -Wall -Werror hiker.c hiker.tests.c -o tests.out\n",
        "hiker.h": "#ifndef HIKER_INCLUDED\n#define HIKER_INCLUDED\nint answer(void);\n#endif\n",
        "hiker.c": format!("#include \"hiker.h\"\n\nint answer(void)\n{{\n    return {answer};\n}}\n"),
        "hiker.tests.c": "#include \"hiker.h\"\n#include <assert.h>\n#include <stdio.h>\n\nint main(void)\n{\n    assert(answer() == 42);\n    puts(\"All tests passed\");\n    return 0;\n}\n",
    })
}

pub fn manifest(image: &str, max_seconds: u64) -> Value {
    json!({"image_name": image, "max_seconds": max_seconds})
}
