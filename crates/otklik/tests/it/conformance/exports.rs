//! Background export jobs on both backends: every lease has a fencing token, and a worker
//! that lost its lease (stalled past it while another took the job over) has each write
//! refused, changing nothing, while the new worker finishes the file alone; the retention
//! sweep deletes only the files of jobs that finished long enough ago.

use super::*;

const LEASE: std::time::Duration = std::time::Duration::from_secs(60);
const LOST: &str = "conflict:export_lease_lost";

pub(super) async fn export_jobs_refuse_a_stale_lease_and_finish_under_the_new_one(
    store: Arc<dyn Store>,
) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let me = w.official.user;
    let id = s
        .create_export_job(me, "submissions", "csv", "{}", T0)
        .await
        .unwrap();
    let stale = s.claim_export_job(T0, LEASE).await.unwrap().unwrap();
    s.add_export_part(
        id,
        stale.token,
        0,
        b"stale-0 ",
        5,
        T0 + Duration::seconds(60),
    )
    .await
    .unwrap();
    // The first worker stalls past its lease; another takes the job over.
    let later = T0 + Duration::seconds(61);
    let fresh = s.claim_export_job(later, LEASE).await.unwrap().unwrap();
    assert_eq!(fresh.id, id);
    assert!(fresh.token > stale.token, "a new generation");
    let before = s.export_job(id, me).await.unwrap();
    assert_eq!(
        (before.status.as_str(), before.rows_done, before.bytes),
        ("running", 0, 0)
    );
    assert_eq!(before.token, fresh.token);

    // The stalled worker wakes up: each of its writes is refused and changes nothing.
    let until = later + Duration::seconds(60);
    assert_eq!(
        outcome(
            s.add_export_part(id, stale.token, 1, b"stale-1", 9, until)
                .await
        ),
        LOST
    );
    assert_eq!(
        outcome(
            s.add_export_part(id, stale.token, 0, b"stale-0", 9, until)
                .await
        ),
        LOST,
        "even a part the new worker has not written yet"
    );
    assert_eq!(
        outcome(s.export_job_progress(id, stale.token, 9, until).await),
        LOST
    );
    assert_eq!(
        outcome(s.finish_export_job(id, stale.token, None, later).await),
        LOST
    );
    assert_eq!(
        outcome(
            s.finish_export_job(id, stale.token, Some("internal_error"), later)
                .await
        ),
        LOST
    );
    assert_eq!(
        outcome(
            s.add_export_part(id, fresh.token + 1, 0, b"x", 1, until)
                .await
        ),
        LOST,
        "a token from the future is no better"
    );
    assert_eq!(
        s.export_job(id, me).await.unwrap(),
        before,
        "nothing changed"
    );

    // The new worker writes the whole file and finishes it.
    s.add_export_part(id, fresh.token, 0, b"hello ", 1, until)
        .await
        .unwrap();
    s.export_job_progress(id, fresh.token, 2, until)
        .await
        .unwrap();
    s.add_export_part(id, fresh.token, 1, b"world", 3, until)
        .await
        .unwrap();
    assert_eq!(
        outcome(s.finish_export_job(id, stale.token, None, later).await),
        LOST
    );
    s.finish_export_job(id, fresh.token, None, later)
        .await
        .unwrap();
    let done = s.export_job(id, me).await.unwrap();
    assert_eq!(
        (
            done.status.as_str(),
            done.rows_done,
            done.bytes,
            done.error.as_deref()
        ),
        ("done", 3, 11, None)
    );
    assert_eq!(s.export_part(id, me, 0).await.unwrap().unwrap(), b"hello ");
    assert_eq!(s.export_part(id, me, 1).await.unwrap().unwrap(), b"world");
    assert_eq!(
        s.export_part(id, me, 2).await.unwrap(),
        None,
        "no mixed parts"
    );

    // A finished job takes no more writes, not even with the token that finished it.
    assert_eq!(
        outcome(
            s.add_export_part(id, fresh.token, 2, b"more", 4, until)
                .await
        ),
        LOST
    );
    assert_eq!(
        outcome(
            s.finish_export_job(id, fresh.token, Some("internal_error"), later)
                .await
        ),
        LOST
    );
    assert_eq!(
        outcome(
            s.finish_export_job(id, stale.token, Some("internal_error"), later)
                .await
        ),
        LOST
    );
    assert_eq!(s.export_job(id, me).await.unwrap(), done);
    assert_eq!(s.export_part(id, me, 2).await.unwrap(), None);
    // A job nobody leased refuses writes the same way.
    let queued = s
        .create_export_job(me, "submissions", "xlsx", "{}", T0)
        .await
        .unwrap();
    assert_eq!(
        outcome(s.add_export_part(queued, 0, 0, b"x", 1, until).await),
        LOST
    );
    assert_eq!(
        s.export_job(queued, me).await.unwrap().status.as_str(),
        "queued"
    );
}

pub(super) async fn export_jobs_a_stalled_writer_racing_a_takeover_mixes_nothing(
    store: Arc<dyn Store>,
) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let me = w.official.user;
    for round in 0..4 {
        let id = s
            .create_export_job(me, "submissions", "csv", "{}", T0)
            .await
            .unwrap();
        let at = T0 + Duration::seconds(1_000 * round);
        let stale = s.claim_export_job(at, LEASE).await.unwrap().unwrap();
        assert_eq!(stale.id, id);
        // The stalled worker goes on writing while another node takes the job over.
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                let until = at + Duration::seconds(60);
                for seq in 0..40u64 {
                    if let Err(e) = store
                        .add_export_part(id, stale.token, seq, b"stale", seq + 1, until)
                        .await
                    {
                        return e.code();
                    }
                }
                "wrote everything"
            })
        };
        tokio::task::yield_now().await;
        let fresh = s
            .claim_export_job(at + Duration::seconds(61), LEASE)
            .await
            .unwrap()
            .unwrap();
        let ended = writer.await.unwrap();
        assert!(
            ["export_lease_lost", "wrote everything"].contains(&ended),
            "{ended}"
        );
        let until = at + Duration::seconds(120);
        s.add_export_part(id, fresh.token, 0, b"new-0 ", 1, until)
            .await
            .unwrap();
        s.add_export_part(id, fresh.token, 1, b"new-1", 2, until)
            .await
            .unwrap();
        s.finish_export_job(id, fresh.token, None, until)
            .await
            .unwrap();
        let mut file = Vec::new();
        let mut seq = 0;
        while let Some(part) = s.export_part(id, me, seq).await.unwrap() {
            file.extend(part);
            seq += 1;
        }
        assert_eq!(
            file, b"new-0 new-1",
            "round {round}: only the new worker's parts"
        );
        let job = s.export_job(id, me).await.unwrap();
        assert_eq!((job.rows_done, job.bytes), (2, 11), "round {round}");
    }
}

pub(super) async fn export_jobs_sweep_expires_only_old_finished_files(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let me = w.official.user;
    let until = T0 + Duration::days(30);
    // Jobs are claimed oldest first, so each is created, claimed and written in turn.
    let job = |finish: Option<(OffsetDateTime, Option<&'static str>)>| async move {
        let id = s
            .create_export_job(me, "submissions", "csv", "{}", T0)
            .await
            .unwrap();
        let lease = s.claim_export_job(T0, LEASE).await.unwrap().unwrap();
        assert_eq!(lease.id, id);
        s.add_export_part(id, lease.token, 0, b"part", 1, until)
            .await
            .unwrap();
        if let Some((at, error)) = finish {
            s.finish_export_job(id, lease.token, error, at)
                .await
                .unwrap();
        }
        (id, lease.token)
    };
    let (old_done, _) = job(Some((T0, None))).await;
    let (old_failed, _) = job(Some((T0 + Duration::minutes(5), Some("internal_error")))).await;
    let (older_done, _) = job(Some((T0 - Duration::hours(5), None))).await;
    let (recent_done, _) = job(Some((T0 + Duration::hours(2), None))).await;
    let (running, running_token) = job(None).await;
    let queued = s
        .create_export_job(me, "submissions", "xlsx", "{}", T0)
        .await
        .unwrap();

    // Everything finished before an hour after T0 is past its retention.
    let cutoff = T0 + Duration::hours(1);
    let now = T0 + Duration::hours(3);
    assert_eq!(
        s.expire_export_jobs(cutoff, now, 1).await.unwrap(),
        1,
        "a batch at a time"
    );
    let first = s.export_job(older_done, me).await.unwrap();
    assert_eq!(first.expired_at, Some(now), "oldest first");
    assert_eq!(s.expire_export_jobs(cutoff, now, 100).await.unwrap(), 2);
    assert_eq!(s.expire_export_jobs(cutoff, now, 100).await.unwrap(), 0);

    for id in [old_done, old_failed, older_done] {
        let job = s.export_job(id, me).await.unwrap();
        assert_eq!(job.expired_at, Some(now), "job {id}");
        assert_eq!(s.export_part(id, me, 0).await.unwrap(), None, "job {id}");
    }
    let done = s.export_job(old_done, me).await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.rows_done, done.bytes),
        ("done", 1, 4),
        "the job stays, with what it was"
    );
    let failed = s.export_job(old_failed, me).await.unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.error.as_deref()),
        ("failed", Some("internal_error"))
    );
    let recent = s.export_job(recent_done, me).await.unwrap();
    assert_eq!(recent.expired_at, None);
    assert_eq!(
        s.export_part(recent_done, me, 0).await.unwrap().unwrap(),
        b"part"
    );
    // A running job (however old) keeps its parts, and finishes with them.
    s.finish_export_job(running, running_token, None, now)
        .await
        .unwrap();
    let finished = s.export_job(running, me).await.unwrap();
    assert_eq!(finished.expired_at, None);
    assert_eq!(
        s.export_part(running, me, 0).await.unwrap().unwrap(),
        b"part"
    );
    assert_eq!(s.export_job(queued, me).await.unwrap().expired_at, None);
    assert_eq!(
        s.export_job(queued, me).await.unwrap().status.as_str(),
        "queued"
    );
    // An expired job takes no writes.
    assert_eq!(
        outcome(s.finish_export_job(old_done, 1, None, now).await),
        LOST
    );
    let mine = s.export_jobs_of(me, 10).await.unwrap();
    let expired: Vec<i64> = mine
        .iter()
        .filter(|j| j.expired_at.is_some())
        .map(|j| j.id)
        .collect();
    assert_eq!(expired, [older_done, old_failed, old_done]);

    // Later the recent one's time comes too (finished at T0 + 2 h); the one that finished
    // at T0 + 3 h stays.
    let later = T0 + Duration::hours(4);
    let cutoff = T0 + Duration::minutes(150);
    assert_eq!(s.expire_export_jobs(cutoff, later, 100).await.unwrap(), 1);
    assert_eq!(
        s.export_job(recent_done, me).await.unwrap().expired_at,
        Some(later)
    );
    assert_eq!(s.export_part(recent_done, me, 0).await.unwrap(), None);
    assert_eq!(
        s.export_part(running, me, 0).await.unwrap().unwrap(),
        b"part"
    );
}
