//! The signals an operator scrapes (`/metrics`, issue 16): requests by
//! route class and status, their latency, bytes in and out, logins and
//! denials (counted where every one of them passes: the audit log), and,
//! read when scraped, the open upload sessions, the audit queue's depth and
//! the database pools' use. The Prometheus project's own client
//! (`prometheus-client`) encodes them in the OpenMetrics text format. No
//! I/O here: callers pass what they read.

use std::sync::Arc;

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// The media type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    class: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

/// Read when scraped: what only the callers can count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub upload_sessions_open: u64,
    pub audit_queue_depth: u64,
    /// (pool, connections in use, idle connections).
    pub pools: [(&'static str, u64, u64); 2],
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<ClassLabels, Histogram>,
    bytes_in: Family<ClassLabels, Counter>,
    bytes_out: Family<ClassLabels, Counter>,
    logins: Family<OutcomeLabels, Counter>,
    denials: Counter,
    uploads_open: Gauge,
    audit_queue: Gauge,
    pool_connections: Family<PoolLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 3 s, doubling.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency =
            Family::<ClassLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let bytes_in = Family::<ClassLabels, Counter>::default();
        let bytes_out = Family::<ClassLabels, Counter>::default();
        let logins = Family::<OutcomeLabels, Counter>::default();
        let denials = Counter::default();
        let uploads_open = Gauge::default();
        let audit_queue = Gauge::default();
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route class, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer's headers, by route class",
            latency.clone(),
        );
        registry.register(
            "http_request_body_bytes",
            "Request body bytes read, by route class",
            bytes_in.clone(),
        );
        registry.register(
            "http_response_body_bytes",
            "Response body bytes sent, by route class",
            bytes_out.clone(),
        );
        registry.register(
            "logins",
            "Sign-ins at every login point, by outcome (success, failure)",
            logins.clone(),
        );
        registry.register("denials", "Requests the access decision refused", denials.clone());
        registry.register(
            "upload_sessions_open",
            "Blob upload sessions started and not finished",
            uploads_open.clone(),
        );
        registry.register("audit_queue_depth", "Audit entries waiting to be written", audit_queue.clone());
        registry.register(
            "database_connections",
            "Database pool connections, by pool (writer, reader) and state (in_use, idle)",
            pool_connections.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            bytes_in,
            bytes_out,
            logins,
            denials,
            uploads_open,
            audit_queue,
            pool_connections,
        }
    }
}

impl Metrics {
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// One answered request.
    pub fn answered(&self, class: &'static str, method: &'static str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { class, method, status }).inc();
        self.latency.get_or_create(&ClassLabels { class }).observe(seconds);
    }

    /// The counters of the bytes a request of `class` reads and sends.
    pub fn byte_counters(&self, class: &'static str) -> (Counter, Counter) {
        let labels = ClassLabels { class };
        (self.bytes_in.get_or_create(&labels).clone(), self.bytes_out.get_or_create(&labels).clone())
    }

    /// An audit entry: logins and denials are counted from the one place
    /// every one of them is recorded.
    pub fn audited(&self, action: &str, outcome: &str) {
        if action == "login" {
            let outcome = if outcome == "success" { "success" } else { "failure" };
            self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
        } else if outcome == "denied" {
            self.denials.inc();
        }
    }

    /// The text a scrape gets, with `snapshot`'s gauges.
    pub fn encode(&self, snapshot: Snapshot) -> String {
        self.uploads_open.set(gauge(snapshot.upload_sessions_open));
        self.audit_queue.set(gauge(snapshot.audit_queue_depth));
        for (pool, in_use, idle) in snapshot.pools {
            self.pool_connections.get_or_create(&PoolLabels { pool, state: "in_use" }).set(gauge(in_use));
            self.pool_connections.get_or_create(&PoolLabels { pool, state: "idle" }).set(gauge(idle));
        }
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_signal_with_its_labels() {
        let metrics = Metrics::default();
        metrics.answered("v2_manifest", "GET", 200, 0.0003);
        metrics.answered("v2_manifest", "GET", 200, 0.0004);
        metrics.answered("api", "POST", 401, 0.002);
        let (read, sent) = metrics.byte_counters("v2_blob");
        read.inc_by(10);
        sent.inc_by(2048);
        metrics.audited("login", "success");
        metrics.audited("login", "failure");
        metrics.audited("login", "denied");
        metrics.audited("content/write", "denied");
        metrics.audited("token.create", "success");
        let snapshot = Snapshot {
            upload_sessions_open: 3,
            audit_queue_depth: 7,
            pools: [("writer", 1, 0), ("reader", 2, 6)],
        };
        let text = metrics.encode(snapshot);
        for line in [
            "portcullis_http_requests_total{class=\"v2_manifest\",method=\"GET\",status=\"200\"} 2",
            "portcullis_http_requests_total{class=\"api\",method=\"POST\",status=\"401\"} 1",
            "portcullis_http_request_duration_seconds_count{class=\"v2_manifest\"} 2",
            "portcullis_http_request_duration_seconds_bucket{le=\"0.0004\",class=\"v2_manifest\"} 2",
            "portcullis_http_request_body_bytes_total{class=\"v2_blob\"} 10",
            "portcullis_http_response_body_bytes_total{class=\"v2_blob\"} 2048",
            "portcullis_logins_total{outcome=\"success\"} 1",
            "portcullis_logins_total{outcome=\"failure\"} 2",
            "portcullis_denials_total 1",
            "portcullis_upload_sessions_open 3",
            "portcullis_audit_queue_depth 7",
            "portcullis_database_connections{pool=\"reader\",state=\"idle\"} 6",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
