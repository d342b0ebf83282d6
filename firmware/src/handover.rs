//! `kiosk handover TRACKING_NUMBER`: record that the villager collected the result.
//!
//! At the counter this normally happens by card tap; the command is the operator's way when
//! the reader is out of order or the villager sent someone with the receipt. The hand-over
//! is stored at once and forwarded to the county by the running appliance.

use std::path::Path;

use store_and_forward::{Health, Outbox, OutboxError};

use crate::Failure;
use crate::form;

pub fn run(data_dir: &Path, tracking: &str) -> Result<(), Failure> {
    let mut outbox = Outbox::open(data_dir).map_err(|e| match Health::of_error(&e) {
        Some(h) => {
            let (zh, en) = h.message();
            Failure::new(format!("{zh} / {en} (the hand-over was not recorded: {e})"))
        }
        None => Failure::from(e),
    })?;
    let Some(app) = outbox.by_tracking(tracking)? else {
        return Err(Failure::new(format!(
            "no application with tracking number {tracking} at this station"
        )));
    };
    match outbox.record_handover(&app.id, form::now()) {
        Ok(()) => {
            println!(
                "{}: 已领取 handed over; the county is told with the next contact",
                app.tracking_number
            );
            Ok(())
        }
        Err(OutboxError::BadTransition { from, .. }) => {
            let (zh, en) = form::state_label(from);
            Err(Failure::new(format!(
                "{} cannot be handed over: it is not ready for pick-up (now: {zh} / {en})",
                app.tracking_number
            )))
        }
        Err(e) => Err(e.into()),
    }
}
