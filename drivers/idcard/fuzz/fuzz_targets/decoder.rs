//! The frame decoder on hostile bytes, fed in the pieces the input itself chooses, in both
//! directions, with timeouts in between: it must never panic, must stay within its buffer,
//! and every frame it yields must re-encode to bytes that decode to the same frame.
#![no_main]

use std::time::{Duration, Instant};

use idcard::codec::{Command, Decoded, Decoder, Direction, Response, encode_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(split % 64) + 1;
    let t0 = Instant::now();
    for dir in [Direction::Responses, Direction::Commands] {
        let mut d = Decoder::new(dir);
        for (i, chunk) in rest.chunks(step).enumerate() {
            let now = t0 + Duration::from_millis(i as u64 * 100);
            d.push(chunk, now);
            d.handle_timeout(now);
            assert!(d.noise_bytes() <= rest.len() as u64);
            while let Some(x) = d.poll() {
                if let Decoded::Frame(body) = x {
                    let mut again = Decoder::new(dir);
                    again.push(&encode_frame(&body), now);
                    assert_eq!(again.poll(), Some(Decoded::Frame(body.clone())));
                    match dir {
                        Direction::Responses => {
                            let _ = Response::from_body(&body).map(|r| r.encode());
                        }
                        Direction::Commands => {
                            let _ = Command::from_body(&body).map(|c| c.encode());
                        }
                    }
                }
            }
        }
    }
});
