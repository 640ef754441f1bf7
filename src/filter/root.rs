//! The root context: configuration, the periodic tick, and JWKS callouts.

use super::host;
use super::http::Stream;
use super::vm::Vm;
use crate::config::Config;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Refreshes, retries and overdue waiters are looked at this often.
pub const TICK: Duration = Duration::from_millis(500);
/// A stream that needs a fetch sets this period to wake the root at once.
pub const WAKE: Duration = Duration::from_millis(1);
/// While another VM fetches keys this VM waits for, their arrival is checked this often.
const PEER_POLL: Duration = Duration::from_millis(20);

pub struct Root {
    context_id: u32,
    vm: Option<Rc<RefCell<Vm>>>,
}

impl Root {
    pub fn new(context_id: u32) -> Root {
        Root {
            context_id,
            vm: None,
        }
    }
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some(vm) = &self.vm else { return };
        let mut vm = vm.borrow_mut();
        // A callout is only made once the time is known.
        if let Some(now) = host::now().or(vm.clock()) {
            vm.on_jwks_response(token, body_size, now);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        host::follow_host_log_level();
        match Config::check_json(&host::plugin_configuration()) {
            Ok(config) => {
                log::info!(
                    "jwt-authz {} (root {}): {}",
                    host::version(),
                    self.context_id,
                    config.summary()
                );
                // One line per local key left out: the rest of the set still works.
                for skipped in config.providers.iter().flat_map(|p| &p.skipped_local_keys) {
                    log::warn!("jwt-authz: {skipped}");
                }
                self.vm = Some(Rc::new(RefCell::new(Vm::new(config))));
                host::set_tick_period(TICK);
                true
            }
            Err(errors) => {
                // Every mistake at once: an operator fixes them in one round, not one a reload.
                for error in errors {
                    log::error!("jwt-authz: configuration refused: {error}");
                }
                false
            }
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        let Some(vm) = &self.vm else { return };
        let mut vm = vm.borrow_mut();
        if let Some(now) = host::now().or(vm.clock()) {
            vm.on_queue_ready(queue_id, now);
        }
    }

    fn on_tick(&mut self) {
        let Some(vm) = &self.vm else { return };
        host::follow_host_log_level();
        let mut vm = vm.borrow_mut();
        vm.on_tick(host::now());
        let Some(now) = vm.clock() else {
            log::error!("jwt-authz: the host does not tell the time; refusing every request");
            return;
        };
        vm.dispatch_due_fetches(now);
        let awaiting_peer = vm.poll_peers(now);
        vm.expire_waiters(now);
        host::set_tick_period(if awaiting_peer { PEER_POLL } else { TICK });
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let vm = self.vm.clone()?;
        Some(Box::new(Stream::new(context_id, vm)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
