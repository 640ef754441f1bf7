//! A proxy-wasm HTTP filter that decides nothing (wasm32 only; the crate is empty elsewhere).
//! `make bench` runs it beside jwt-authz in two listeners:
//!
//! - **no-op**: every callback returns `Continue`: what the Wasm boundary costs by itself (a
//!   VM, a root context, one HTTP context per request);
//! - **host calls** (plugin configuration `host-calls`): it also makes the host calls jwt-authz
//!   makes on a request it lets through, and nothing else: reads the request headers in one
//!   call, then removes `Authorization` or, when the token is in the query, sets `:path`
//!   without it. What is left between this listener and jwt-authz is jwt-authz's own work.
//!
//! Built, like jwt-authz, with only the callbacks it uses exported (see the Makefile).

#[cfg(target_arch = "wasm32")]
mod filter {
    use proxy_wasm::hostcalls;
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel, MapType};

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Warn);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
            Box::new(Root { host_calls: false })
        });
    }}

    struct Root {
        host_calls: bool,
    }

    impl Context for Root {}

    impl RootContext for Root {
        fn on_configure(&mut self, _size: usize) -> bool {
            let configuration =
                hostcalls::get_buffer(proxy_wasm::types::BufferType::PluginConfiguration, 0, 64);
            self.host_calls = matches!(configuration, Ok(Some(c)) if c == b"host-calls");
            true
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }

        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Stream {
                host_calls: self.host_calls,
            }))
        }
    }

    struct Stream {
        host_calls: bool,
    }

    impl Context for Stream {}

    impl HttpContext for Stream {
        fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
            if self.host_calls {
                edit_like_jwt_authz();
            }
            Action::Continue
        }
    }

    /// jwt-authz's host calls for an allowed request: one read of every header, one edit.
    fn edit_like_jwt_authz() {
        let buffer = raw_header_pairs();
        // The bench sends a query only to carry the token (a word-at-a-time search).
        let token_in_query = buffer.contains(&b'?');
        let edit = if token_in_query {
            hostcalls::set_map_value(MapType::HttpRequestHeaders, ":path", Some("/"))
        } else {
            hostcalls::set_map_value(MapType::HttpRequestHeaders, "authorization", None)
        };
        let _ = edit;
    }

    /// The serialized request headers in one buffer, as jwt-authz reads them (the SDK's
    /// `get_map` would also make two `String`s per header).
    fn raw_header_pairs() -> Vec<u8> {
        #[allow(clashing_extern_declarations)]
        unsafe extern "C" {
            fn proxy_get_header_map_pairs(map: u32, data: *mut *mut u8, size: *mut usize) -> u32;
        }
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        let map = MapType::HttpRequestHeaders as u32;
        // SAFETY: on success the host has filled memory it got from this VM's
        // `proxy_on_memory_allocate(size)`, a boxed slice of `size` bytes now owned by nobody.
        unsafe {
            if proxy_get_header_map_pairs(map, &mut data, &mut size) != 0 || data.is_null() {
                return Vec::new();
            }
            Vec::from_raw_parts(data, size, size)
        }
    }
}
