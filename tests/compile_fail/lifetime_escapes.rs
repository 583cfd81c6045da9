// SPDX-License-Identifier: GPL-2.0
//! Must not compile: a source that outlives the device binding its line
//! belongs to (D5). Safe code cannot keep the IRQ number past the unbind whose
//! devres frees the line.
#![allow(dead_code)]
include!("lifetime_common.rs");

fn make<'a>(
    request: IrqRequest<'a>,
) -> impl PinInit<InterruptEventSource<'static, Handler>, Error> + 'a {
    InterruptEventSource::new(
        request,
        c"escapes",
        Sharing::Exclusive,
        SourceOptions::default(),
        Handler,
    )
}

module! {
    type: Module,
    name: "lifetime_escapes",
    authors: ["workloop"],
    description: "compile test",
    license: "GPL v2",
}
