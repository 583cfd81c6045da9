// SPDX-License-Identifier: GPL-2.0
//! Must compile: a source made from an `IrqRequest<'a>` lives for `'a` (the
//! control case of `lifetime_escapes.rs`).
#![allow(dead_code)]
include!("lifetime_common.rs");

fn make<'a>(
    request: IrqRequest<'a>,
) -> impl PinInit<InterruptEventSource<'a, Handler>, Error> + 'a {
    InterruptEventSource::new(
        request,
        c"ok",
        Sharing::Exclusive,
        SourceOptions::default(),
        Handler,
    )
}

module! {
    type: Module,
    name: "lifetime_ok",
    authors: ["workloop"],
    description: "compile test",
    license: "GPL v2",
}
