//! Claims of deliveries in progress on SQLite: where a delivery stands, and claiming many at once.

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};

use super::cards::{
    from_millis, to_millis, ClaimOutcome, ClaimRequest, DeliveryProgress, DeliveryState,
};
use super::sqlite_cards::{card_from_row, CARD_COLUMNS};
use super::SqliteStore;

/// One transaction on the writer for a batch of claims: it sees every committed delivery, so a
/// claim never races a commit of the same delivery.
pub(super) fn claim_deliveries(
    store: &SqliteStore,
    claims: &[ClaimRequest],
) -> anyhow::Result<Vec<ClaimOutcome>> {
    let card_sql =
        format!("SELECT {CARD_COLUMNS} FROM alarm_cards WHERE alarm_key = ?1 AND channel = ?2");
    store
        .with(|c| {
            let tx = c.unchecked_transaction()?;
            let mut outcomes = Vec::with_capacity(claims.len());
            for claim in claims {
                let state = read_progress(&tx, &claim.message_id, &claim.channel)?;
                if state == DeliveryState::New {
                    tx.prepare_cached("INSERT OR IGNORE INTO delivery_claims VALUES (?1, ?2, ?3)")?
                        .execute(params![
                            claim.message_id,
                            claim.channel,
                            to_millis(claim.at)
                        ])?;
                }
                let card = match (&state, &claim.card_key) {
                    (DeliveryState::Delivered, _) | (_, None) => None,
                    (_, Some(key)) => tx
                        .prepare_cached(&card_sql)?
                        .query_row(params![key, claim.channel], card_from_row)
                        .optional()?,
                };
                outcomes.push(ClaimOutcome { state, card });
            }
            tx.commit()?;
            Ok(outcomes)
        })
        .with_context(|| format!("Failed to claim {} deliveries", claims.len()))
}

pub(super) fn end_claim(c: &Connection, message_id: &str, channel: &str) -> rusqlite::Result<()> {
    for sql in [
        "DELETE FROM delivery_claims WHERE message_id = ?1 AND channel = ?2",
        "DELETE FROM delivery_posts WHERE message_id = ?1 AND channel = ?2",
    ] {
        c.prepare_cached(sql)?
            .execute(params![message_id, channel])?;
    }
    Ok(())
}

pub(super) fn read_progress(
    c: &Connection,
    message_id: &str,
    channel: &str,
) -> rusqlite::Result<DeliveryState> {
    let delivered = c
        .prepare_cached(
            "SELECT 1 FROM delivered_notifications WHERE message_id = ?1 AND channel = ?2",
        )?
        .query_row(params![message_id, channel], |_| Ok(()))
        .optional()?;
    if delivered.is_some() {
        return Ok(DeliveryState::Delivered);
    }
    let claimed_at: Option<i64> = c
        .prepare_cached(
            "SELECT claimed_at FROM delivery_claims WHERE message_id = ?1 AND channel = ?2",
        )?
        .query_row(params![message_id, channel], |r| r.get(0))
        .optional()?;
    let posts = c
        .prepare_cached(
            "SELECT part, ts FROM delivery_posts WHERE message_id = ?1 AND channel = ?2",
        )?
        .query_map(params![message_id, channel], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<std::collections::BTreeMap<String, String>>>()?;
    if claimed_at.is_none() && posts.is_empty() {
        return Ok(DeliveryState::New);
    }
    Ok(DeliveryState::Claimed(DeliveryProgress {
        claimed_at: claimed_at.map(from_millis),
        posts,
    }))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::store::cards::{CardRecord, CardStore, DeliveryCommit};

    fn claim(message_id: &str, card_key: Option<&str>, at: SystemTime) -> ClaimRequest {
        ClaimRequest {
            message_id: message_id.into(),
            channel: "C1".into(),
            card_key: card_key.map(Into::into),
            at,
        }
    }

    #[test]
    fn the_first_claim_is_new_and_recorded_copies_see_it_and_a_commit_ends_it() {
        let store = SqliteStore::in_memory().unwrap();
        let at = from_millis(to_millis(SystemTime::now()));
        let later = at + Duration::from_secs(5);
        // Two copies of m1 in one batch: the first claims, the second finds the claim.
        let outcomes = store
            .claim_deliveries(&[claim("m1", Some("k"), at), claim("m1", Some("k"), later)])
            .unwrap();
        assert_eq!(outcomes[0].state, DeliveryState::New);
        let claimed = DeliveryState::Claimed(DeliveryProgress {
            claimed_at: Some(at),
            posts: Default::default(),
        });
        assert_eq!(outcomes[1].state, claimed, "the first claim's time is kept");
        assert_eq!(outcomes[0].card, None);

        let card = CardRecord {
            alarm_key: "k".into(),
            channel: "C1".into(),
            root_ts: "1.1".into(),
            state: "ALARM".into(),
            last_change: at,
            episode_started: Some(at),
            resolved_at: None,
            reopen_count: 0,
            watchers: vec![],
            nudged: false,
            last_body: "{}".into(),
            last_attributes: Default::default(),
            in_digest: false,
            report_url: None,
            graph: None,
        };
        store
            .commit_deliveries(&[DeliveryCommit {
                message_id: "m1".into(),
                channel: "C1".into(),
                delivered_at: later,
                card: Some(card.clone()),
                transition: None,
            }])
            .unwrap();
        let outcomes = store
            .claim_deliveries(&[claim("m1", Some("k"), later), claim("m2", Some("k"), later)])
            .unwrap();
        assert_eq!(outcomes[0].state, DeliveryState::Delivered);
        assert_eq!(outcomes[0].card, None, "a delivered claim needs no card");
        assert_eq!(outcomes[1].state, DeliveryState::New);
        assert_eq!(
            outcomes[1].card,
            Some(card),
            "the card comes with the claim"
        );
        assert_eq!(
            store.delivery_state("m1", "C1").unwrap(),
            DeliveryState::Delivered,
            "the commit ended m1's claim"
        );
    }
}
