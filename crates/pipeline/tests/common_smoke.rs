//! The shared fidelity helpers work on a generated capture.
mod common;

#[test]
fn records_of_a_generated_capture() {
    let dir = std::env::temp_dir().join(format!("otwatch-common-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("modbus.pcap");
    let cap = otwatch_sim::generate("modbus_polling", 1).unwrap();
    cap.write_pcap_file(&path).unwrap();
    let msgs = common::messages(&path, "modbus");
    assert_eq!(msgs.len() as u64, cap.message_count("modbus"));
    let log = dir.join("x.log");
    std::fs::write(&log, "#fields\ta\tb\n#types\tstring\tcount\n1\tx\n").unwrap();
    let rows = common::zeek_log(&log, None);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["b"], "x");
    std::fs::remove_dir_all(&dir).ok();
}
