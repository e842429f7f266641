//! The JSON decoding and model validation of every operation's request: the first byte picks
//! the operation, the rest is the body. Never a panic, whatever the body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trent_types::*;

macro_rules! decoders {
    ($($op:ident => $req:ident),* $(,)?) => {
        const DECODERS: &[fn(&[u8]) -> bool] = &[$(|b| decode::<_, $req>(b, $req::from_wire).is_ok()),*];
    };
}

trent_types::for_each_operation!(decoders);

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    assert_eq!(DECODERS.len(), Operation::ALL.len());
    let _ = DECODERS[pick as usize % DECODERS.len()](body);
});
