//! The real driver against the simulator over a real pseudo-terminal, with each fault.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use idcard::codec::{self, Command, Sw3};
use idcard::sim::{Faults, SimOptions, Simulator};
use idcard::{Card, CardEvent, CardReader, Error, Options, Reader, Watcher};

fn fast() -> Options {
    Options {
        poll_interval: Duration::from_millis(10),
        reconnect_interval: Duration::from_millis(50),
        ..Options::default()
    }
}

/// Place `card`, read it with the real driver, and expect exactly what was placed.
async fn check_read(sim: &Simulator, card: Card) {
    sim.place(card.clone()).unwrap();
    let mut reader = Reader::open(&sim.path(), fast()).unwrap();
    let got = reader
        .wait_for_card(Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{:?}: {e}", card.text.card_type))
        .expect("a card");
    assert_eq!(got, card, "{:?}", card.text.card_type);
    assert_eq!(got.text, card.text);
    assert_eq!(got.extra_address, card.extra_address);
}

#[tokio::test]
async fn all_four_card_types_read_back_exactly() {
    let sim = common::simulator(Faults::default());
    for card in common::all_cards() {
        check_read(&sim, card).await;
    }
    let r = common::resident();
    assert_eq!(r.text.name.as_deref(), Some("阿䶮"));
    assert!(r.text.id_number.ends_with('X'));
    assert_eq!(r.text.id_checksum_ok(), Some(true));
    assert_eq!(r.fingerprint_count(), 2);
}

#[tokio::test]
async fn each_fault_is_overcome() {
    let faults = [
        Faults {
            split_writes: true,
            ..Faults::default()
        },
        Faults {
            noise: true,
            ..Faults::default()
        },
        Faults {
            corrupt_checksums: 2,
            ..Faults::default()
        },
        Faults {
            bad_lengths: 2,
            ..Faults::default()
        },
        Faults {
            latency: Duration::from_millis(40),
            ..Faults::default()
        },
        Faults {
            split_writes: true,
            noise: true,
            corrupt_checksums: 1,
            bad_lengths: 1,
            latency: Duration::from_millis(5),
            ..Faults::default()
        },
    ];
    for f in faults {
        let sim = common::simulator(f.clone());
        for card in common::all_cards() {
            sim.set_faults(Faults {
                corrupt_checksums: f.corrupt_checksums,
                bad_lengths: f.bad_lengths,
                ..sim.faults()
            });
            check_read(&sim, card).await;
            // The one-shot faults really fired (and were overcome).
            let left = sim.faults();
            assert_eq!((left.corrupt_checksums, left.bad_lengths), (0, 0), "{f:?}");
        }
    }
}

#[tokio::test]
async fn garbled_answers_beyond_the_retries_are_an_error_that_says_so() {
    let sim = common::simulator(Faults {
        corrupt_checksums: 100,
        ..Faults::default()
    });
    sim.place(common::resident()).unwrap();
    let mut reader = Reader::open(&sim.path(), fast()).unwrap();
    let e = reader.find_card().await.unwrap_err();
    assert!(matches!(e, Error::Garbled { attempts: 4, .. }), "{e:?}");
    assert!(e.to_string().contains("garbled"), "{e}");
    assert_eq!(sim.exchanges().len(), 4, "one try and three retries");
}

#[tokio::test]
async fn commands_the_sam_received_damaged_are_sent_again() {
    let sim = common::simulator(Faults {
        damage_commands: 3,
        ..Faults::default()
    });
    check_read(&sim, common::resident()).await;
    assert_eq!(sim.faults().damage_commands, 0);
    sim.set_faults(Faults {
        damage_commands: 100,
        ..Faults::default()
    });
    let mut reader = Reader::open(&sim.path(), fast()).unwrap();
    let e = reader.find_card().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the card reader's answers to the find card command stayed garbled after 4 attempts \
         (last: the security module answered 10 (the checksum of our command was wrong))"
    );
}

#[tokio::test]
async fn no_card_times_out_with_none() {
    let sim = common::simulator(Faults::default());
    let mut reader = Reader::open(&sim.path(), fast()).unwrap();
    let started = std::time::Instant::now();
    let got = reader
        .wait_for_card(Duration::from_millis(300))
        .await
        .unwrap();
    assert!(got.is_none());
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        sim.exchanges()
            .iter()
            .all(|e| e.command == Some(Command::FindCard) && e.sw3 == Sw3::NO_CARD)
    );
}

#[tokio::test]
async fn a_card_removed_mid_read_is_not_reported_and_a_new_placement_is() {
    let sim = common::simulator(Faults {
        remove_mid_read: true,
        ..Faults::default()
    });
    sim.place(common::hmt()).unwrap();
    let mut reader = Reader::open(&sim.path(), fast()).unwrap();
    let e = reader.read_card().await.unwrap_err();
    assert!(matches!(e, Error::ReadFailed { .. }), "{e:?}");
    assert!(!sim.card_present());
    assert!(reader.read_card().await.unwrap().is_none());
    sim.place(common::hmt()).unwrap();
    assert_eq!(reader.read_card().await.unwrap(), Some(common::hmt()));
}

async fn next(w: &mut impl CardReader) -> CardEvent {
    tokio::time::timeout(Duration::from_secs(5), w.next_event())
        .await
        .expect("an event within 5 s")
        .expect("the watcher runs")
}

async fn quiet(w: &mut impl CardReader, d: Duration) {
    if let Ok(ev) = tokio::time::timeout(d, w.next_event()).await {
        panic!("expected no event, got {ev:?}");
    }
}

#[tokio::test]
async fn the_watcher_reports_each_placement_once_and_each_removal_once() {
    let sim = common::simulator(Faults {
        remove_mid_read: false,
        ..Faults::default()
    });
    let mut w = Watcher::spawn(sim.path(), fast());
    assert!(matches!(next(&mut w).await, CardEvent::ReaderReady));
    quiet(&mut w, Duration::from_millis(200)).await;
    for card in common::all_cards() {
        sim.place(card.clone()).unwrap();
        match next(&mut w).await {
            CardEvent::Presented(c) => assert_eq!(*c, card),
            ev => panic!("{ev:?}"),
        }
        // Resting on the reader: many finds, no second event.
        quiet(&mut w, Duration::from_millis(300)).await;
        let finds = sim
            .exchanges()
            .iter()
            .filter(|e| e.sw3 == Sw3::FOUND)
            .count();
        assert!(finds > 5, "the card was polled while resting ({finds})");
        sim.clear_exchanges();
        sim.lift();
        assert!(matches!(next(&mut w).await, CardEvent::Removed));
        quiet(&mut w, Duration::from_millis(100)).await;
    }
    // A card lifted during the read is not reported; placed again, it is.
    sim.set_faults(Faults {
        remove_mid_read: true,
        ..Faults::default()
    });
    sim.place(common::resident()).unwrap();
    quiet(&mut w, Duration::from_millis(300)).await;
    sim.place(common::resident()).unwrap();
    assert!(matches!(next(&mut w).await, CardEvent::Presented(_)));
}

#[tokio::test]
async fn a_card_the_sam_refuses_is_reported_once_as_unreadable() {
    let sim = common::simulator(Faults {
        refuse_card: Some(Sw3::SAM_REJECTED_CARD),
        ..Faults::default()
    });
    let mut w = Watcher::spawn(sim.path(), fast());
    assert!(matches!(next(&mut w).await, CardEvent::ReaderReady));
    sim.place(common::resident()).unwrap();
    match next(&mut w).await {
        CardEvent::Unreadable(e) => {
            assert!(matches!(e, Error::Sam { .. }), "{e:?}");
            assert!(
                e.to_string()
                    .contains("the security module failed to authenticate the card"),
                "{e}"
            );
        }
        ev => panic!("{ev:?}"),
    }
    quiet(&mut w, Duration::from_millis(300)).await;
    sim.lift();
    assert!(matches!(next(&mut w).await, CardEvent::Removed));
}

#[tokio::test]
async fn the_watcher_survives_faults() {
    let sim = common::simulator(Faults {
        split_writes: true,
        noise: true,
        corrupt_checksums: 3,
        bad_lengths: 3,
        latency: Duration::from_millis(3),
        ..Faults::default()
    });
    let mut w = Watcher::spawn(sim.path(), fast());
    assert!(matches!(next(&mut w).await, CardEvent::ReaderReady));
    sim.place(common::foreign_2023()).unwrap();
    match next(&mut w).await {
        CardEvent::Presented(c) => assert_eq!(*c, common::foreign_2023()),
        ev => panic!("{ev:?}"),
    }
    sim.lift();
    assert!(matches!(next(&mut w).await, CardEvent::Removed));
}

#[tokio::test]
async fn unplugging_and_plugging_back_reopens_the_same_path() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("idcard");
    let sim = Simulator::start(SimOptions {
        link: Some(link.clone()),
        ..SimOptions::default()
    })
    .unwrap();
    assert_eq!(sim.path(), link);
    let mut w = Watcher::spawn(&link, fast());
    assert!(matches!(next(&mut w).await, CardEvent::ReaderReady));
    sim.place(common::resident()).unwrap();
    assert!(matches!(next(&mut w).await, CardEvent::Presented(_)));

    sim.unplug();
    assert!(!link.exists());
    // The card that lay on the lost reader is reported gone, then the loss.
    assert!(matches!(next(&mut w).await, CardEvent::Removed));
    match next(&mut w).await {
        CardEvent::ReaderLost(e) => assert!(e.is_disconnect(), "{e:?}"),
        ev => panic!("{ev:?}"),
    }
    // Failed reopens while unplugged are not reported again.
    quiet(&mut w, Duration::from_millis(300)).await;

    sim.replug();
    assert!(matches!(next(&mut w).await, CardEvent::ReaderReady));
    match next(&mut w).await {
        CardEvent::Presented(c) => assert_eq!(*c, common::resident()),
        ev => panic!("{ev:?}"),
    }
    quiet(&mut w, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_second_opener_is_refused_while_the_first_holds_the_reader() {
    let sim = common::simulator(Faults::default());
    let first = Reader::open(&sim.path(), fast()).unwrap();
    let e = Reader::open(&sim.path(), fast()).unwrap_err();
    assert!(matches!(e, Error::Busy { .. }), "{e:?}");
    assert!(e.to_string().contains("in use by another program"), "{e}");
    drop(first);
    Reader::open(&sim.path(), fast()).expect("free again once the first is dropped");
}

#[tokio::test]
async fn a_missing_device_says_so() {
    let e = Reader::open(std::path::Path::new("/dev/no-such-idcard"), fast()).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "there is no card reader at /dev/no-such-idcard; check that it is plugged in (and its udev link)"
    );
}

#[tokio::test]
async fn the_sam_id_status_reset_and_unknown_commands() {
    let sim = common::simulator(Faults::default());
    let mut reader = Reader::open(&sim.path(), fast()).unwrap();
    assert_eq!(
        reader.sam_id().await.unwrap().to_string(),
        "05.01-20190101-0000000001-0000000002"
    );
    reader.status().await.unwrap();
    // Select without a find is refused; reset clears a selection.
    sim.place(common::resident()).unwrap();
    assert!(!reader.select_card().await.unwrap());
    assert!(reader.find_card().await.unwrap());
    assert!(reader.select_card().await.unwrap());
    reader.reset().await.unwrap();
    let e = reader.read_selected().await.unwrap_err();
    assert!(matches!(e, Error::ReadFailed { .. }), "{e:?}");
    let r = reader
        .execute(&Command::Other {
            cmd: 0x61,
            para: 0xFF,
            data: vec![],
        })
        .await
        .unwrap();
    assert_eq!(r.sw3, Sw3::COMMAND_ERROR);
    let r = reader
        .execute(&Command::SetBaudRate(codec::BaudRate::B9600))
        .await
        .unwrap();
    assert_eq!(r.sw3, Sw3::OK);
}

#[test]
fn the_simulator_answers_broken_commands_as_documented() {
    let sim = common::simulator(Faults {
        wire_time: false,
        ..Faults::default()
    });
    let mut port = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(sim.path())
        .unwrap();
    let mut answer = |bytes: &[u8]| -> Vec<u8> {
        port.write_all(bytes).unwrap();
        let mut buf = [0u8; 64];
        let n = port.read(&mut buf).unwrap();
        buf[..n].to_vec()
    };
    // A wrong checksum: 10.
    let mut bad = Command::FindCard.encode();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(
        answer(&bad),
        codec::Response::new(Sw3(0x10), vec![]).encode()
    );
    // An impossible length: 11 at once.
    assert_eq!(
        answer(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x04, 0x01]),
        codec::Response::new(Sw3(0x11), vec![]).encode()
    );
    // Half a frame: 11 after the frame timeout.
    let started = std::time::Instant::now();
    assert_eq!(
        answer(&Command::FindCard.encode()[..8]),
        codec::Response::new(Sw3(0x11), vec![]).encode()
    );
    assert!(started.elapsed() >= Duration::from_millis(450));
    // Noise in front is skipped silently.
    let mut noisy = vec![0x01, 0xAA, 0x96];
    noisy.extend(Command::FindCard.encode());
    assert_eq!(
        answer(&noisy),
        codec::Response::new(Sw3(0x80), vec![]).encode()
    );
}

#[tokio::test]
async fn sequence_mode_places_the_next_card_after_each_read() {
    let sim = Simulator::start(SimOptions {
        cards: vec![common::resident(), common::hmt()],
        sequence: true,
        ..SimOptions::default()
    })
    .unwrap();
    let mut reader = Reader::open(&sim.path(), fast()).unwrap();
    for want in [common::resident(), common::hmt()] {
        let got = reader.wait_for_card(Duration::from_secs(3)).await.unwrap();
        assert_eq!(got, Some(want));
    }
    assert_eq!(
        reader
            .wait_for_card(Duration::from_millis(200))
            .await
            .unwrap(),
        None
    );
    assert_eq!(sim.cards_waiting(), 0);
}
