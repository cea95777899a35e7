//! A macro for test wrappers around a store: every [`Store`](crate::Store) method but
//! `ingest` forwarded to an inner store.

/// Inside `impl Store for Wrapper { … }`: every `Store` method except `ingest`, forwarded to
/// the field `$inner` (a test wrapper that changes how ingest behaves writes only that).
#[macro_export]
macro_rules! forward_store_except_ingest {
    ($inner:ident) => {
        fn functions(&self) -> Result<Vec<$crate::FunctionMeta>, $crate::StoreError> {
            self.$inner.functions()
        }
        fn function_stats(
            &self,
            functions: &[String],
            range: $crate::TimeRange,
        ) -> Result<Vec<$crate::FunctionStats>, $crate::StoreError> {
            self.$inner.function_stats(functions, range)
        }
        fn invocations(
            &self,
            q: &$crate::InvocationQuery,
        ) -> Result<Vec<$crate::InvocationRow>, $crate::StoreError> {
            self.$inner.invocations(q)
        }
        fn invocation_logs(
            &self,
            log_group: &str,
            log_stream: &str,
            request_id: &str,
        ) -> Result<Vec<tern_core::model::LogLine>, $crate::StoreError> {
            self.$inner
                .invocation_logs(log_group, log_stream, request_id)
        }
        fn environments(
            &self,
            function: &str,
        ) -> Result<Vec<$crate::EnvironmentRow>, $crate::StoreError> {
            self.$inner.environments(function)
        }
        fn size_stats(
            &self,
            functions: &[String],
            range: $crate::TimeRange,
        ) -> Result<Vec<$crate::SizeStats>, $crate::StoreError> {
            self.$inner.size_stats(functions, range)
        }
        fn time_bounds(&self) -> Result<Option<(i64, i64)>, $crate::StoreError> {
            self.$inner.time_bounds()
        }
        fn checkpoints(&self, prefix: &str) -> Result<Vec<$crate::Checkpoint>, $crate::StoreError> {
            self.$inner.checkpoints(prefix)
        }
        fn series(
            &self,
            function: &str,
            range: $crate::TimeRange,
            bucket_ms: i64,
        ) -> Result<Vec<(i64, $crate::FunctionStats)>, $crate::StoreError> {
            self.$inner.series(function, range, bucket_ms)
        }
        fn fleet(
            &self,
            range: $crate::TimeRange,
            bucket_ms: Option<i64>,
        ) -> Result<Vec<$crate::FleetRow>, $crate::StoreError> {
            self.$inner.fleet(range, bucket_ms)
        }
        fn fleet_counts(
            &self,
            range: $crate::TimeRange,
            bucket_ms: i64,
        ) -> Result<Vec<(String, Vec<u64>)>, $crate::StoreError> {
            self.$inner.fleet_counts(range, bucket_ms)
        }
        fn environment_summaries(
            &self,
            range: $crate::TimeRange,
        ) -> Result<Vec<$crate::EnvironmentSummary>, $crate::StoreError> {
            self.$inner.environment_summaries(range)
        }
        fn apply_retention(
            &mut self,
            r: $crate::Retention,
        ) -> Result<$crate::RetentionStats, $crate::StoreError> {
            self.$inner.apply_retention(r)
        }
        fn seal(&mut self, now_ms: i64) -> Result<$crate::SealStats, $crate::StoreError> {
            self.$inner.seal(now_ms)
        }
        fn delete_function(
            &mut self,
            function: &str,
            before_ms: Option<i64>,
        ) -> Result<$crate::DeleteStats, $crate::StoreError> {
            self.$inner.delete_function(function, before_ms)
        }
        fn error_groups(
            &self,
            q: &$crate::ErrorQuery,
        ) -> Result<Vec<$crate::ErrorGroup>, $crate::StoreError> {
            self.$inner.error_groups(q)
        }
        fn error_group(
            &self,
            id: &str,
            now_ms: Option<i64>,
        ) -> Result<Option<$crate::ErrorGroup>, $crate::StoreError> {
            self.$inner.error_group(id, now_ms)
        }
        fn error_series(
            &self,
            id: &str,
            range: $crate::TimeRange,
            bucket_ms: i64,
        ) -> Result<Vec<(i64, u64)>, $crate::StoreError> {
            self.$inner.error_series(id, range, bucket_ms)
        }
        fn error_samples(
            &self,
            id: &str,
            limit: usize,
        ) -> Result<Vec<$crate::InvocationRow>, $crate::StoreError> {
            self.$inner.error_samples(id, limit)
        }
        fn set_error_status(
            &mut self,
            id: &str,
            status: $crate::ErrorStatus,
            muted_until_ms: Option<i64>,
            now_ms: i64,
        ) -> Result<bool, $crate::StoreError> {
            self.$inner
                .set_error_status(id, status, muted_until_ms, now_ms)
        }
        fn error_occurrences_since(
            &self,
            after: $crate::OccurrenceCursor,
            limit: usize,
        ) -> Result<Vec<$crate::ErrorOccurrence>, $crate::StoreError> {
            self.$inner.error_occurrences_since(after, limit)
        }
        fn apply_incident(
            &mut self,
            change: &$crate::IncidentChange,
            notify: &dyn Fn(&$crate::Incident) -> Vec<$crate::OutboxItem>,
        ) -> Result<$crate::IncidentApplied, $crate::StoreError> {
            self.$inner.apply_incident(change, notify)
        }
        fn incidents(
            &self,
            q: &$crate::IncidentQuery,
        ) -> Result<Vec<$crate::Incident>, $crate::StoreError> {
            self.$inner.incidents(q)
        }
        fn enqueue(
            &mut self,
            items: &[$crate::OutboxItem],
            now_ms: i64,
            checkpoint: Option<&$crate::Checkpoint>,
        ) -> Result<u64, $crate::StoreError> {
            self.$inner.enqueue(items, now_ms, checkpoint)
        }
        fn outbox_due(
            &self,
            now_ms: i64,
            limit: usize,
        ) -> Result<Vec<$crate::OutboxEntry>, $crate::StoreError> {
            self.$inner.outbox_due(now_ms, limit)
        }
        fn outbox_history(
            &self,
            limit: usize,
        ) -> Result<Vec<$crate::OutboxEntry>, $crate::StoreError> {
            self.$inner.outbox_history(limit)
        }
        fn outbox_mark(
            &mut self,
            id: i64,
            mark: &$crate::OutboxMark,
            now_ms: i64,
        ) -> Result<bool, $crate::StoreError> {
            self.$inner.outbox_mark(id, mark, now_ms)
        }
        fn store_tuning_run(&mut self, run: &$crate::TuningRun) -> Result<(), $crate::StoreError> {
            self.$inner.store_tuning_run(run)
        }
        fn tuning_runs(
            &self,
            function: &str,
        ) -> Result<Vec<$crate::TuningRun>, $crate::StoreError> {
            self.$inner.tuning_runs(function)
        }
        fn add_marker(
            &mut self,
            marker: &$crate::Marker,
        ) -> Result<$crate::Marker, $crate::StoreError> {
            self.$inner.add_marker(marker)
        }
        fn markers(
            &self,
            function: Option<&str>,
        ) -> Result<Vec<$crate::Marker>, $crate::StoreError> {
            self.$inner.markers(function)
        }
        fn try_lease(
            &mut self,
            name: &str,
            holder: &str,
            now_ms: i64,
            ttl_ms: i64,
        ) -> Result<bool, $crate::StoreError> {
            self.$inner.try_lease(name, holder, now_ms, ttl_ms)
        }
        fn release_lease(&mut self, name: &str, holder: &str) -> Result<bool, $crate::StoreError> {
            self.$inner.release_lease(name, holder)
        }
        fn leases(
            &self,
            prefix: &str,
            now_ms: i64,
        ) -> Result<Vec<$crate::Lease>, $crate::StoreError> {
            self.$inner.leases(prefix, now_ms)
        }
        fn values_seen(
            &self,
            function: Option<&str>,
        ) -> Result<Vec<$crate::ValueSeen>, $crate::StoreError> {
            self.$inner.values_seen(function)
        }
    };
}
