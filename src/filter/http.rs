//! One HTTP stream: decide on the request headers; continue, answer, or pause for keys.

use super::host;
use super::root::WAKE;
use super::vm::Vm;
use crate::error::AuthError;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::cell::RefCell;
use std::rc::Rc;

pub struct Stream {
    context_id: u32,
    vm: Rc<RefCell<Vm>>,
}

impl Stream {
    pub fn new(context_id: u32, vm: Rc<RefCell<Vm>>) -> Stream {
        Stream { context_id, vm }
    }
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Ok(mut vm) = self.vm.try_borrow_mut() else {
            // Cannot happen (the host never re-enters the VM), but a stream must never be
            // left paused without an answer.
            host::send_denial(&AuthError::HostFailure, &[], None, false);
            return Action::Pause;
        };
        let Some(now) = vm.clock() else {
            // Without the time no expiry can be judged: fail closed.
            vm.deny_current_stream(&AuthError::HostFailure);
            return Action::Pause;
        };
        let action = vm.decide_current_stream(self.context_id, now, None);
        if vm.wants_fetch(now) {
            // Callouts are made by the root so their answers outlive this stream.
            host::set_tick_period(WAKE);
        }
        action
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Ok(mut vm) = self.vm.try_borrow_mut() {
            vm.forget_stream(self.context_id);
        }
    }
}
