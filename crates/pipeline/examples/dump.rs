//! Prints every event of a capture as NDJSON (a debugging aid for dissector work):
//! `cargo run -p otwatch-pipeline --example dump -- FILE`

use otwatch_capture::{FileSource, PacketSource};
use otwatch_pipeline::{Config, Pipeline};
use otwatch_proto::event::{Event, EventSink};

struct Print;

impl EventSink for Print {
    fn on_event(&mut self, ev: &Event<'_>) {
        match otwatch_proto::json::record(ev) {
            Some(r) => println!("{}", serde_json::to_string(&r).unwrap_or_default()),
            None => match ev {
                Event::Gap(g) => println!(
                    "{{\"event\":\"gap\",\"flow_id\":{},\"len\":{}}}",
                    g.flow.id.0, g.len
                ),
                Event::FlowStart(f) => println!(
                    "{{\"event\":\"flow_start\",\"flow_id\":{},\"client\":\"{}:{}\",\"server\":\"{}:{}\"}}",
                    f.id.0, f.client.ip, f.client.port, f.server.ip, f.server.port
                ),
                Event::FlowEnd(f) => println!(
                    "{{\"event\":\"flow_end\",\"flow_id\":{},\"pkts\":{:?}}}",
                    f.id.0, f.pkts
                ),
                _ => {}
            },
        }
    }
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: dump FILE");
    let mut src = FileSource::open(&path, 0).unwrap_or_else(|e| panic!("{e}"));
    let mut p = Pipeline::new(Config::default(), Print);
    while let Some(pkt) = src.next_packet().unwrap_or_else(|e| panic!("{e}")) {
        p.process(&pkt);
    }
    p.finish();
}
