//! Which traffic-light rules judge a run: the request's, or the image's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kata_docker::Executor;
use kata_lights::Rules;
use kata_types::{Judge, Outcome};

/// Where cyber-dojo images keep their rules when the manifest has none.
pub const IMAGE_RULES: &str = "/usr/local/bin/red_amber_green.rb";

/// Parsed rules, by their source: parsing a lambda once per distinct text.
#[derive(Default)]
pub struct Judges {
    parsed: Mutex<HashMap<String, Arc<dyn Judge>>>,
    /// The image's rules file, by image name (`None`: it has none).
    from_images: Mutex<HashMap<String, Option<String>>>,
}

/// A judge that cannot judge: the run is `faulty`, with the reason.
struct Unjudgeable(String);

impl Judge for Unjudgeable {
    fn colour(&self, _: &str, _: &str, _: i32) -> Result<Outcome, String> {
        Err(self.0.clone())
    }
}

/// What a request says about its rules.
pub enum RuleSource<'a> {
    /// A Ruby `rag_lambda`.
    Ruby(&'a str),
    /// Declarative rules (JSON).
    Json(&'a serde_json::Value),
    /// None: the image's `red_amber_green.rb`.
    Image,
}

impl Judges {
    /// The judge for a run. Rules that cannot be parsed, or an image without
    /// rules, give a judge that makes the run `faulty` and says why; only
    /// the engine failing while reading the image's rules is an error.
    pub async fn get(
        &self,
        source: RuleSource<'_>,
        image: &str,
        executor: &Executor,
    ) -> Result<Arc<dyn Judge>, kata_docker::ExecError> {
        let (key, text) = match source {
            RuleSource::Ruby(src) => (format!("rb:{src}"), Ok(src.to_owned())),
            RuleSource::Json(v) => {
                let key = format!("json:{v}");
                if let Some(j) = self.cached(&key) {
                    return Ok(j);
                }
                let judge: Arc<dyn Judge> = match Rules::from_json(v) {
                    Ok(rules) => Arc::new(rules),
                    Err(e) => Arc::new(Unjudgeable(format!("the rules are not valid: {e}"))),
                };
                return Ok(self.remember(key, judge));
            }
            RuleSource::Image => match self.image_rules(image, executor).await {
                Ok(Some(src)) => (format!("rb:{src}"), Ok(src)),
                Ok(None) => {
                    let why =
                        format!("no rag_lambda in the manifest and no {IMAGE_RULES} in {image}");
                    return Ok(Arc::new(Unjudgeable(why)));
                }
                // The run itself will say so (pulling, a bad name), better
                // than a judge.
                Err(
                    kata_docker::ExecError::ImageNotFound { .. }
                    | kata_docker::ExecError::InvalidImage { .. },
                ) => {
                    return Ok(Arc::new(Unjudgeable(format!(
                        "{image} is not on the engine"
                    ))));
                }
                Err(e) => return Err(e),
            },
        };
        if let Some(j) = self.cached(&key) {
            return Ok(j);
        }
        let judge: Arc<dyn Judge> =
            match text.and_then(|t| Rules::from_ruby(&t).map_err(|e| e.to_string())) {
                Ok(rules) => Arc::new(rules),
                Err(e) => Arc::new(Unjudgeable(format!("the rag_lambda is not supported: {e}"))),
            };
        Ok(self.remember(key, judge))
    }

    fn cached(&self, key: &str) -> Option<Arc<dyn Judge>> {
        self.parsed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    fn remember(&self, key: String, judge: Arc<dyn Judge>) -> Arc<dyn Judge> {
        let mut parsed = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a client cannot grow the cache without limit.
        if parsed.len() >= 1024 {
            parsed.clear();
        }
        parsed.insert(key, judge.clone());
        judge
    }

    async fn image_rules(
        &self,
        image: &str,
        executor: &Executor,
    ) -> Result<Option<String>, kata_docker::ExecError> {
        if let Some(known) = self
            .from_images
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(image)
        {
            return Ok(known.clone());
        }
        let bytes = executor.image_file(image, IMAGE_RULES).await?;
        let text = bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
        self.from_images
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(image.to_owned(), text.clone());
        Ok(text)
    }
}
