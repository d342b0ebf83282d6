//! `kiosk status [--json]`.
//!
//! JSON: `{"counts": {"queued": n, "sending": n, "delivered": n, "decided": n, "ready": n,
//! "handed_over": n, "returned": n}, "oldest_waiting_secs": n|null, "last_contact":
//! "<RFC 3339>"|null, "bytes_waiting": n, "total": n, "last_error": "..."|null,
//! "sending": {"tracking_number", "bytes_acked", "bytes_total"}|null, "health": "ok" |
//! "storage_full" | "read_only" | "storage_failing" | "database_corrupt",
//! "version": "x.y.z"}`.

use std::path::Path;

use serde_json::{Map, Value, json};
use store_and_forward::{Outbox, Status};
use time::format_description::well_known::Rfc3339;

use crate::Failure;
use crate::form;

pub fn to_json(st: &Status) -> Value {
    let counts: Map<String, Value> = st
        .counts
        .iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    json!({
        "counts": counts,
        "oldest_waiting_secs": st.oldest_waiting_secs,
        "last_contact": st.last_contact.and_then(|t| t.format(&Rfc3339).ok()),
        "bytes_waiting": st.bytes_waiting,
        "total": st.counts.values().sum::<u64>(),
        "last_error": st.last_error,
        "sending": st.sending.as_ref().map(|p| json!({
            "tracking_number": p.tracking_number,
            "bytes_acked": p.bytes_acked,
            "bytes_total": p.bytes_total,
        })),
        "health": st.health.as_str(),
        "version": env!("CARGO_PKG_VERSION"),
    })
}

pub fn run(data_dir: &Path, json: bool) -> Result<(), Failure> {
    let outbox = Outbox::open(data_dir)?;
    let st = outbox.status(form::now())?;
    if json {
        println!("{}", to_json(&st));
        return Ok(());
    }
    for (state, n) in &st.counts {
        let (zh, en) = form::state_label(*state);
        println!("{zh:<6} {en:<12} {n:>6}");
    }
    match st.oldest_waiting_secs {
        Some(s) => println!("最久等待 Oldest waiting: {s} s"),
        None => println!("没有等待发送的申请 Nothing waiting to be sent"),
    }
    match st.last_contact.and_then(|t| t.format(&Rfc3339).ok()) {
        Some(t) => println!("上次联系县平台 Last contact with the county: {t}"),
        None => println!("尚未联系县平台 No contact with the county yet"),
    }
    if let Some(p) = &st.sending {
        println!(
            "正在发送 Sending {}: {} / {} KB",
            p.tracking_number,
            p.bytes_acked / 1024,
            p.bytes_total / 1024
        );
    }
    if let Some(e) = &st.last_error {
        println!("最近的问题 Last problem: {e}");
    }
    if st.health != store_and_forward::Health::Ok {
        let (zh, en) = st.health.message();
        println!("存储 Storage: {zh} / {en}");
    }
    Ok(())
}
