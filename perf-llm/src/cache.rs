//! A response cache for identical requests (chat completions, prompts, embeddings): keyed by
//! (model, messages or prompt, parameters), bounded by a TTL and a capacity, counting hits,
//! misses and the money hits saved.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

use perf_core::clock::Clock;
use rust_decimal::Decimal;
use serde_json::Value;

/// The identity of a request: the canonical bytes of (kind, model, input, parameters).
/// Object keys are sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request;
/// the map hashes the bytes and compares them whole, so two different requests never share
/// an entry.
///
/// ```
/// use perf_llm::cache::CacheKey;
/// use serde_json::json;
///
/// let a = CacheKey::chat("gpt-4o", &json!([{"role": "user", "content": "hi"}]),
///                        &json!({"temperature": 0, "max_tokens": 5}));
/// let b = CacheKey::chat("gpt-4o", &json!([{"content": "hi", "role": "user"}]),
///                        &json!({"max_tokens": 5, "temperature": 0}));
/// assert_eq!(a, b);
/// assert_ne!(a, CacheKey::chat("gpt-4o-mini", &json!([{"role": "user", "content": "hi"}]),
///                              &json!({"temperature": 0, "max_tokens": 5})));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(Box<[u8]>);

impl CacheKey {
    fn build(kind: &str, model: &str, input: &Value, params: &Value) -> Self {
        let mut b = Vec::with_capacity(64);
        for part in [kind, model] {
            b.extend_from_slice(&(part.len() as u64).to_le_bytes());
            b.extend_from_slice(part.as_bytes());
        }
        canonical(input, &mut b);
        b.push(0);
        canonical(params, &mut b);
        CacheKey(b.into_boxed_slice())
    }

    /// A chat request: model, the messages array, the other parameters.
    pub fn chat(model: &str, messages: &Value, params: &Value) -> Self {
        Self::build("chat", model, messages, params)
    }

    /// A text-completion request: model, prompt, parameters.
    pub fn prompt(model: &str, prompt: &str, params: &Value) -> Self {
        Self::build("prompt", model, &Value::String(prompt.to_owned()), params)
    }

    /// An embedding of one input text.
    pub fn embedding(model: &str, input: &str) -> Self {
        Self::build(
            "embedding",
            model,
            &Value::String(input.to_owned()),
            &Value::Null,
        )
    }

    /// A 64-bit fingerprint of the key, for logs.
    pub fn fingerprint(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.0.hash(&mut h);
        h.finish()
    }
}

/// JSON with sorted object keys, whatever `serde_json`'s map order is.
fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(&Value::String(k.clone()), out);
                out.push(b':');
                canonical(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(x, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

/// Counters of a [`ResponseCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups not answered (absent or expired).
    pub misses: u64,
    /// Entries removed to respect the capacity.
    pub evictions: u64,
    /// Entries found expired.
    pub expired: u64,
    /// Entries held now.
    pub entries: usize,
    /// The summed cost of the calls that hits avoided, USD.
    pub saved_usd: Decimal,
}

struct Entry<V> {
    value: V,
    cost: Decimal,
    inserted: u64,
    tick: u64,
}

struct Inner<V> {
    map: HashMap<CacheKey, Entry<V>>,
    /// Least recently used first.
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
    stats: CacheStats,
}

/// A bounded, expiring cache of responses. Each entry remembers what its call cost, so a hit
/// adds that amount to [`CacheStats::saved_usd`].
///
/// ```
/// use std::time::Duration;
/// use perf_llm::cache::{CacheKey, ResponseCache};
/// use rust_decimal::Decimal;
///
/// let cache = ResponseCache::new(1000, Duration::from_secs(600));
/// let key = CacheKey::embedding("text-embedding-3-small", "hello");
/// assert!(cache.get(&key).is_none());
/// cache.insert(key.clone(), vec![0.1f32, 0.2], Decimal::new(2, 8)); // cost $0.00000002
/// assert_eq!(cache.get(&key), Some(vec![0.1, 0.2]));
/// let s = cache.stats();
/// assert_eq!((s.hits, s.misses), (1, 1));
/// assert_eq!(s.saved_usd, Decimal::new(2, 8));
/// ```
pub struct ResponseCache<V> {
    inner: Mutex<Inner<V>>,
    capacity: usize,
    ttl: Duration,
    clock: Clock,
}

impl<V: Clone> std::fmt::Debug for ResponseCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<V: Clone> ResponseCache<V> {
    /// At most `capacity` entries (at least 1), each kept for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self::with_clock(capacity, ttl, Clock::system())
    }

    /// Like [`new`](Self::new), on `clock` (a manual clock in tests).
    pub fn with_clock(capacity: usize, ttl: Duration, clock: Clock) -> Self {
        ResponseCache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
                stats: CacheStats::default(),
            }),
            capacity: capacity.max(1),
            ttl,
            clock,
        }
    }

    fn expired(&self, inserted: u64, now: u64) -> bool {
        Duration::from_nanos(now.saturating_sub(inserted)) >= self.ttl
    }

    /// The cached response for `key`, if present and fresh.
    pub fn get(&self, key: &CacheKey) -> Option<V> {
        let now = self.clock.now_nanos();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *g;
        let fresh = inner.map.get(key).map(|e| !self.expired(e.inserted, now));
        match fresh {
            None => {
                inner.stats.misses += 1;
                None
            }
            Some(false) => {
                if let Some(e) = inner.map.remove(key) {
                    inner.order.remove(&e.tick);
                }
                inner.stats.expired += 1;
                inner.stats.misses += 1;
                None
            }
            Some(true) => {
                inner.tick += 1;
                let tick = inner.tick;
                let e = inner.map.get_mut(key)?;
                inner.order.remove(&e.tick);
                e.tick = tick;
                inner.order.insert(tick, key.clone());
                inner.stats.hits += 1;
                inner.stats.saved_usd += e.cost;
                Some(e.value.clone())
            }
        }
    }

    /// Stores `value`, whose call cost `cost_usd`; evicts the least recently used entry
    /// when full (expired entries first).
    pub fn insert(&self, key: CacheKey, value: V, cost_usd: Decimal) {
        let now = self.clock.now_nanos();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *g;
        if let Some(old) = inner.map.remove(&key) {
            inner.order.remove(&old.tick);
        }
        while inner.map.len() >= self.capacity {
            let Some((_, victim)) = inner.order.pop_first() else {
                break;
            };
            if let Some(e) = inner.map.remove(&victim) {
                if self.expired(e.inserted, now) {
                    inner.stats.expired += 1;
                } else {
                    inner.stats.evictions += 1;
                }
            }
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.order.insert(tick, key.clone());
        inner.map.insert(
            key,
            Entry {
                value,
                cost: cost_usd,
                inserted: now,
                tick,
            },
        );
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        CacheStats {
            entries: g.map.len(),
            ..g.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ttl_expires_entries() {
        let (clock, hand) = Clock::manual();
        let c = ResponseCache::with_clock(10, Duration::from_secs(60), clock);
        let k = CacheKey::prompt("m", "p", &json!({}));
        c.insert(k.clone(), 1u32, Decimal::ONE);
        hand.advance(Duration::from_secs(59));
        assert_eq!(c.get(&k), Some(1));
        hand.advance(Duration::from_secs(1));
        assert_eq!(c.get(&k), None);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.expired, s.entries), (1, 1, 1, 0));
        assert_eq!(s.saved_usd, Decimal::ONE);
    }

    #[test]
    fn capacity_evicts_least_recently_used() {
        let c = ResponseCache::with_clock(2, Duration::from_secs(60), Clock::manual().0);
        let k = |s: &str| CacheKey::embedding("e", s);
        c.insert(k("a"), 1, Decimal::ZERO);
        c.insert(k("b"), 2, Decimal::ZERO);
        assert_eq!(c.get(&k("a")), Some(1)); // b is now the least recently used
        c.insert(k("c"), 3, Decimal::ZERO);
        assert_eq!(c.get(&k("b")), None);
        assert_eq!(c.get(&k("a")), Some(1));
        assert_eq!(c.get(&k("c")), Some(3));
        let s = c.stats();
        assert_eq!((s.evictions, s.entries), (1, 2));
    }

    #[test]
    fn keys_differ_by_kind_params_and_nesting() {
        let p = json!({"temperature": 0.2});
        assert_ne!(
            CacheKey::prompt("m", "x", &p),
            CacheKey::embedding("m", "x")
        );
        assert_ne!(
            CacheKey::prompt("m", "x", &p),
            CacheKey::prompt("m", "x", &json!({"temperature": 0.3}))
        );
        // Length-prefixed parts: ("ab", "c") is not ("a", "bc").
        assert_ne!(
            CacheKey::chat("ab", &json!("c"), &p),
            CacheKey::chat("a", &json!("bc"), &p)
        );
        assert_eq!(
            CacheKey::chat("m", &json!({"a": {"y": 1, "x": 2}}), &p).fingerprint(),
            CacheKey::chat("m", &json!({"a": {"x": 2, "y": 1}}), &p).fingerprint()
        );
    }
}
