//! A submission's deadline from what is stored about its term: when the term started,
//! the policy, the holding organisation's calendar and zone, the completed pauses and
//! the extension. The same function computes a deadline when an action changes it and
//! when `recompute_deadlines` re-derives it after a policy or calendar change, so the two
//! always agree.

use std::sync::Arc;

use otklik_domain::calendar::{DeadlinePolicy, DeadlineStage, ProductionCalendar};
use time::{OffsetDateTime, UtcOffset};

use crate::common::{corrupt, from_ts, whole_seconds};
use crate::StoreResult;

/// Everything a deadline of one organisation, kind and subcategory depends on.
#[derive(Debug, Clone)]
pub(crate) struct TermContext {
    pub policy: DeadlinePolicy,
    pub calendar: Arc<ProductionCalendar>,
    pub zone: UtcOffset,
}

/// A completed pause of the clock: (paused at, resumed at), unix seconds.
pub(crate) type Pause = (i64, i64);

impl TermContext {
    /// When a stage that started at `from` is due; None when the policy has no such stage.
    pub fn stage_due(
        &self,
        stage: DeadlineStage,
        from: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>> {
        self.policy
            .due_at(stage, &*self.calendar, from, self.zone)
            .map(whole_seconds)
            .transpose()
    }

    /// The answer deadline of a term that started at `started`, after `pauses` and an
    /// extension of `extension_days`.
    pub fn answer_due(
        &self,
        started: OffsetDateTime,
        pauses: &[Pause],
        extension_days: u32,
    ) -> StoreResult<OffsetDateTime> {
        let mut due = self
            .policy
            .due_at(DeadlineStage::Answer, &*self.calendar, started, self.zone)
            .ok_or_else(|| corrupt("deadline policy without an answer term"))?;
        for (from, to) in pauses {
            due = self.resume(due, from_ts(*from)?, from_ts(*to)?);
        }
        if extension_days > 0 {
            due = self.extend(due, extension_days)?;
        }
        whole_seconds(due)
    }

    /// The deadline after the clock stopped from `paused` to `resumed`.
    pub fn resume(
        &self,
        due: OffsetDateTime,
        paused: OffsetDateTime,
        resumed: OffsetDateTime,
    ) -> OffsetDateTime {
        self.policy
            .shift_for_pause(due, paused, resumed, &*self.calendar, self.zone)
    }

    /// The deadline extended by `days`; `InvalidReference` with the domain's code when
    /// the policy does not allow it.
    pub fn extend(&self, due: OffsetDateTime, days: u32) -> StoreResult<OffsetDateTime> {
        self.policy
            .extended_due_at(due, days, &*self.calendar, self.zone)
            .map_err(crate::StoreError::InvalidReference)
    }
}

pub(crate) fn pauses_of(json: &str) -> StoreResult<Vec<Pause>> {
    serde_json::from_str(json).map_err(|_| corrupt("submissions.pauses"))
}

pub(crate) fn pauses_json(pauses: &[Pause]) -> String {
    serde_json::to_string(pauses).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn policy_of(spec: &str) -> StoreResult<DeadlinePolicy> {
    serde_json::from_str(spec).map_err(|_| corrupt("deadline_policies.spec"))
}
