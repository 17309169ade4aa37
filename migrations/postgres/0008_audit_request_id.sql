-- The request an audit entry was recorded in (the `X-Request-Id` of its
-- answer and the `request_id` of its log lines), so an entry and the log
-- lines of the same request can be found from each other. NULL for
-- entries recorded outside a request and for entries older than this.
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
