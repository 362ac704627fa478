//! The store replicas share: Redis. Every operation is one atomic command (a code is taken with
//! `GETDEL`, a claim is `SET NX`, a rate count is `INCR` with its expiry), records expire by
//! Redis's own TTL, and every call is bounded in time, so an unreachable Redis is a prompt
//! [`StoreError`] (503 at the endpoints) rather than a hang; the connection is made again by
//! itself once Redis is back.

use std::time::Duration;

use base64::Engine as _;
use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue};
use serde_json::Value;

use super::random_bytes;
use super::store::{OAuthStore, RecordKind, StoreError};

/// How long one Redis command may take, all told (reconnecting included), before the request
/// that needs it fails with 503.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long connecting to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// What every key starts with, so that apimcp can share a Redis database with other programs.
const PREFIX: &str = "apimcp:oauth";

/// A store in Redis, shared by every replica that names the same database.
///
/// ```no_run
/// # async fn run() -> Result<(), apimcp::auth::proxy::StoreError> {
/// use apimcp::auth::AuthConfig;
/// use apimcp::auth::proxy::RedisStore;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?;
/// let key = store.shared_key().await?;
/// let config = AuthConfig::new().oauth_store(store).signing_keys([key]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://HOST:PORT[/DB]`, `rediss://` for TLS where the
    /// redis crate is built with it); fails when the URL is bad or Redis cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::new)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connect = ConnectionManager::new_with_config(client, config);
        let connection = tokio::time::timeout(COMMAND_TIMEOUT * 2, connect)
            .await
            .map_err(|_| StoreError::new("connecting to Redis timed out"))?
            .map_err(StoreError::new)?;
        Ok(Self { connection })
    }

    /// The key every replica on this Redis signs and seals with: made by the first replica
    /// that asks (`SET NX`, so two replicas starting together agree), read by the others.
    pub async fn shared_key(&self) -> Result<Vec<u8>, StoreError> {
        let key = format!("{PREFIX}:signing-key");
        let fresh = base64::engine::general_purpose::STANDARD.encode(random_bytes(32));
        let mut set = redis::cmd("SET");
        set.arg(&key).arg(&fresh).arg("NX");
        self.run::<Option<String>>(set).await?;
        let mut get = redis::cmd("GET");
        get.arg(&key);
        let kept: Option<String> = self.run(get).await?;
        let kept = kept.ok_or_else(|| StoreError::new("the shared signing key vanished from Redis"))?;
        base64::engine::general_purpose::STANDARD
            .decode(kept)
            .map_err(|_| StoreError::new("the shared signing key in Redis is not base64"))
    }

    /// Runs one command, bounded by [`COMMAND_TIMEOUT`].
    fn run<T: FromRedisValue + Send + 'static>(&self, command: Cmd) -> BoxFuture<'static, Result<T, StoreError>> {
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let query = command.query_async::<T>(&mut connection);
            match tokio::time::timeout(COMMAND_TIMEOUT, query).await {
                Ok(result) => result.map_err(StoreError::new),
                Err(_) => Err(StoreError::new("Redis did not answer in time")),
            }
        })
    }
}

/// Counts one, and starts the counter's expiry when it is new.
const COUNT_SCRIPT: &str =
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

/// The Redis key of a record.
fn key(kind: RecordKind, key: &str) -> String {
    let kind = match kind {
        RecordKind::Request => "request",
        RecordKind::Pending => "pending",
        RecordKind::Code => "code",
        RecordKind::Refresh => "refresh",
        RecordKind::Consent => "consent",
    };
    format!("{PREFIX}:{kind}:{key}")
}

/// `SET key value PX ttl`, with `NX` when it must be new.
fn set(kind: RecordKind, name: &str, value: &Value, ttl: Duration, only_new: bool) -> Cmd {
    let mut command = redis::cmd("SET");
    let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    command
        .arg(key(kind, name))
        .arg(value.to_string())
        .arg("PX")
        .arg(millis);
    if only_new {
        command.arg("NX");
    }
    command
}

fn parse(text: Option<String>) -> Option<Value> {
    serde_json::from_str(&text?).ok()
}

impl OAuthStore for RedisStore {
    fn put(&self, kind: RecordKind, key: &str, value: Value, ttl: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        let run = self.run::<()>(set(kind, key, &value, ttl, false));
        Box::pin(run)
    }

    fn put_new(
        &self,
        kind: RecordKind,
        key: &str,
        value: Value,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let run = self.run::<Option<String>>(set(kind, key, &value, ttl, true));
        Box::pin(async move { Ok(run.await?.is_some()) })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        let run = self.run::<String>(redis::cmd("PING"));
        Box::pin(async move { run.await.map(drop) })
    }

    fn get(&self, kind: RecordKind, name: &str) -> BoxFuture<'_, Result<Option<Value>, StoreError>> {
        let mut command = redis::cmd("GET");
        command.arg(key(kind, name));
        let run = self.run::<Option<String>>(command);
        Box::pin(async move { Ok(parse(run.await?)) })
    }

    fn take(&self, kind: RecordKind, name: &str) -> BoxFuture<'_, Result<Option<Value>, StoreError>> {
        let mut command = redis::cmd("GETDEL");
        command.arg(key(kind, name));
        let run = self.run::<Option<String>>(command);
        Box::pin(async move { Ok(parse(run.await?)) })
    }

    /// `INCR`, and `PEXPIRE` on the first count, in one script: Redis runs it atomically, so a
    /// counter never outlives its window (a crash between two commands would leave it forever).
    fn count(&self, name: &str, ttl: Duration) -> BoxFuture<'_, Result<Option<u64>, StoreError>> {
        let mut command = redis::cmd("EVAL");
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        command
            .arg(COUNT_SCRIPT)
            .arg(1)
            .arg(format!("{PREFIX}:count:{name}"))
            .arg(millis);
        let run = self.run::<u64>(command);
        Box::pin(async move { Ok(Some(run.await?)) })
    }
}
