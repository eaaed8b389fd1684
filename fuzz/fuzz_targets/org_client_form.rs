#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otklik_fuzzing::org_client_form(data));
