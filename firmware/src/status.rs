//! `kiosk status [--json]`.
//!
//! JSON: `{"counts": {"queued": n, "sending": n, "delivered": n, "decided": n, "ready": n,
//! "handed_over": n, "returned": n}, "oldest_waiting_secs": n|null, "last_contact":
//! "<RFC 3339>"|null, "bytes_waiting": n, "total": n, "last_error": "..."|null,
//! "sending": {"tracking_number", "bytes_acked", "bytes_total"}|null, "health": "ok" |
//! "storage_full" | "read_only" | "storage_failing" | "database_corrupt",
//! "health_message": "<Chinese> / <English>", "version": "x.y.z"}`.
//!
//! A damaged database (or a failing card) is reported, not an error: `health` says which,
//! `health_message` what to do, and the counts are read from the damaged file where SQLite
//! still can (opened read-only; nothing is written). Where it cannot, every figure is
//! `null`. Exit status 0 whenever the report was printed.

use std::path::Path;

use serde_json::{Map, Value, json};
use store_and_forward::{Health, Opened, Status};
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
        "health_message": health_message(st.health),
        "version": env!("CARGO_PKG_VERSION"),
    })
}

fn health_message(h: Health) -> String {
    let (zh, en) = h.message();
    format!("{zh} / {en}")
}

/// The report when nothing can be read from the damaged outbox: the health, no figures.
fn unreadable_json(health: Health) -> Value {
    json!({
        "counts": null,
        "oldest_waiting_secs": null,
        "last_contact": null,
        "bytes_waiting": null,
        "total": null,
        "last_error": null,
        "sending": null,
        "health": health.as_str(),
        "health_message": health_message(health),
        "version": env!("CARGO_PKG_VERSION"),
    })
}

pub fn run(data_dir: &Path, json: bool) -> Result<(), Failure> {
    let now = form::now();
    let st = match Opened::open(data_dir)? {
        Opened::Ready(outbox) => outbox.status(now)?,
        Opened::Damaged {
            health,
            error,
            view,
        } => {
            let read = view.map(|ob| ob.status(now));
            match read {
                Some(Ok(st)) => st,
                _ => {
                    if json {
                        println!("{}", unreadable_json(health));
                    } else {
                        println!("存储 Storage: {}", health_message(health));
                        println!(
                            "已保存的申请暂时读不出来 The stored applications cannot be read now ({error})"
                        );
                    }
                    return Ok(());
                }
            }
        }
    };
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
    if st.health != Health::Ok {
        println!("存储 Storage: {}", health_message(st.health));
    }
    Ok(())
}
