//! The proxy-wasm host calls the filter makes, declared here and answered with the host's
//! status as a value. The SDK's own wrappers (`proxy_wasm::hostcalls`) panic on any status they
//! do not expect, and on request header values that are not UTF-8; a panic stops the Wasm VM
//! and every request after it. The SDK stays for what it does well: dispatching the callbacks
//! to the contexts (and so for starting callouts, whose tokens its dispatcher must know), and
//! logging. This is the only file with `unsafe`.

use proxy_wasm::types::{BufferType, MapType, MetricType, Status, StreamType};

/// The host's answer to a call that did not succeed.
pub type Failure = u32;

const OK: u32 = Status::Ok as u32;
const NOT_FOUND: u32 = Status::NotFound as u32;
const EMPTY: u32 = Status::Empty as u32;

// The SDK declares the same imports with its enums for the statuses and kinds, which have
// these `u32` representations: the same ABI.
#[allow(clashing_extern_declarations)]
unsafe extern "C" {
    fn proxy_get_log_level(return_level: *mut u32) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        details_data: *const u8,
        details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_register_shared_queue(
        name_data: *const u8,
        name_size: usize,
        return_queue_id: *mut u32,
    ) -> u32;
    fn proxy_enqueue_shared_queue(queue_id: u32, value_data: *const u8, value_size: usize) -> u32;
    fn proxy_dequeue_shared_queue(
        queue_id: u32,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_define_metric(
        metric_type: u32,
        name_data: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
}

fn result(status: u32) -> Result<(), Failure> {
    if status == OK { Ok(()) } else { Err(status) }
}

/// Takes ownership of a buffer the host handed back: `None` when it handed none (a null
/// pointer, which is how it hands an empty value).
///
/// # Safety
/// `data` and `size` must be what a successful host call wrote: memory the host obtained
/// from this VM's `proxy_on_memory_allocate(size)` (the SDK's allocator: a boxed slice of
/// exactly `size` bytes) and owned by nobody else. This is how the SDK takes them too.
unsafe fn take_buffer(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        return None;
    }
    // SAFETY: as the caller promises.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// Runs a call that hands back a buffer through two out-pointers.
fn buffer_call(
    call: impl FnOnce(*mut *mut u8, *mut usize) -> u32,
) -> Result<Option<Vec<u8>>, Failure> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    result(call(&mut data, &mut size))?;
    // SAFETY: the call succeeded, so the host wrote a buffer it allocated in this VM, or null.
    Ok(unsafe { take_buffer(data, size) })
}

/// Envoy's log level for the `wasm` logger (0 trace .. 5 critical).
pub fn log_level() -> Result<u32, Failure> {
    let mut level = 0;
    // SAFETY: the host writes one u32 into `level`.
    result(unsafe { proxy_get_log_level(&mut level) })?;
    Ok(level)
}

/// Nanoseconds since the Unix epoch.
pub fn current_time_nanos() -> Result<u64, Failure> {
    let mut nanos = 0;
    // SAFETY: the host writes one u64 into `nanos`.
    result(unsafe { proxy_get_current_time_nanoseconds(&mut nanos) })?;
    Ok(nanos)
}

pub fn set_tick_period_ms(period: u32) -> Result<(), Failure> {
    // SAFETY: plain values only.
    result(unsafe { proxy_set_tick_period_milliseconds(period) })
}

/// At most `max` bytes of a buffer, from its start; `None` when there is none.
pub fn buffer(kind: BufferType, max: usize) -> Result<Option<Vec<u8>>, Failure> {
    // SAFETY: the host writes the buffer's address and size into the out-pointers.
    buffer_call(|data, size| unsafe { proxy_get_buffer_bytes(kind as u32, 0, max, data, size) })
}

/// A header map as the host serializes it (see [`crate::request::headers`]).
pub fn header_map(map: MapType) -> Result<Option<Vec<u8>>, Failure> {
    // SAFETY: the host writes the map's address and size into the out-pointers.
    buffer_call(|data, size| unsafe { proxy_get_header_map_pairs(map as u32, data, size) })
}

/// The first value of header `key` in `map`.
pub fn header_value(map: MapType, key: &str) -> Result<Option<Vec<u8>>, Failure> {
    // SAFETY: `key` is valid for its length during the call; the host writes the value's
    // address and size into the out-pointers.
    buffer_call(|data, size| unsafe {
        proxy_get_header_map_value(map as u32, key.as_ptr(), key.len(), data, size)
    })
}

pub fn remove_header(map: MapType, key: &str) -> Result<(), Failure> {
    // SAFETY: `key` is valid for its length during the call.
    result(unsafe { proxy_remove_header_map_value(map as u32, key.as_ptr(), key.len()) })
}

pub fn replace_header(map: MapType, key: &str, value: &str) -> Result<(), Failure> {
    // SAFETY: `key` and `value` are valid for their lengths during the call.
    result(unsafe {
        proxy_replace_header_map_value(
            map as u32,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Answers the current stream locally; `headers` serialized as a header map.
pub fn send_local_response(status: u32, headers: &[u8], body: &[u8]) -> Result<(), Failure> {
    // SAFETY: every pointer is valid for its length during the call; no details, no gRPC
    // status (-1).
    result(unsafe {
        proxy_send_local_response(
            status,
            std::ptr::null(),
            0,
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    })
}

/// Lets the current stream's request go on after a pause.
pub fn continue_request() -> Result<(), Failure> {
    // SAFETY: a plain value.
    result(unsafe { proxy_continue_stream(StreamType::HttpRequest as u32) })
}

/// Makes `context_id` the context later calls act on.
pub fn set_effective_context(context_id: u32) -> Result<(), Failure> {
    // SAFETY: a plain value.
    result(unsafe { proxy_set_effective_context(context_id) })
}

/// A shared-data value and its compare-and-swap token (0: none): `(None, 0)` for a key that
/// does not exist, `(None, cas)` for an empty value.
pub fn shared_data(key: &str) -> Result<(Option<Vec<u8>>, u32), Failure> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    let mut cas = 0;
    // SAFETY: `key` is valid for its length during the call; the host writes the value's
    // address, size and token into the out-pointers.
    let status =
        unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) };
    match status {
        // SAFETY: the call succeeded, so the host wrote a buffer it allocated, or null.
        OK => Ok((unsafe { take_buffer(data, size) }, cas)),
        NOT_FOUND => Ok((None, 0)),
        failure => Err(failure),
    }
}

/// Sets a shared-data value; with `cas` other than 0, only if the value still has that token.
pub fn set_shared_data(key: &str, value: &[u8], cas: u32) -> Result<(), Failure> {
    // SAFETY: `key` and `value` are valid for their lengths during the call.
    result(unsafe {
        proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas)
    })
}

/// Registers (or takes over) this VM's shared queue `name`; its id, which any VM of the
/// process can enqueue to.
pub fn register_shared_queue(name: &str) -> Result<u32, Failure> {
    let mut id = 0;
    // SAFETY: `name` is valid for its length during the call; the host writes one u32.
    result(unsafe { proxy_register_shared_queue(name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

pub fn enqueue_shared_queue(queue: u32, value: &[u8]) -> Result<(), Failure> {
    // SAFETY: `value` is valid for its length during the call.
    result(unsafe { proxy_enqueue_shared_queue(queue, value.as_ptr(), value.len()) })
}

/// The next item of a queue, `None` once it is empty.
pub fn dequeue_shared_queue(queue: u32) -> Result<Option<Vec<u8>>, Failure> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes the item's address and size into the out-pointers.
    match unsafe { proxy_dequeue_shared_queue(queue, &mut data, &mut size) } {
        // SAFETY: the call succeeded, so the host wrote a buffer it allocated, or null (an
        // empty item, which is still an item).
        OK => Ok(Some(unsafe { take_buffer(data, size) }.unwrap_or_default())),
        EMPTY => Ok(None),
        failure => Err(failure),
    }
}

/// Defines a counter; its id.
pub fn define_counter(name: &str) -> Result<u32, Failure> {
    let mut id = 0;
    // SAFETY: `name` is valid for its length during the call; the host writes one u32.
    result(unsafe {
        proxy_define_metric(
            MetricType::Counter as u32,
            name.as_ptr(),
            name.len(),
            &mut id,
        )
    })?;
    Ok(id)
}

pub fn increment_counter(id: u32, by: i64) -> Result<(), Failure> {
    // SAFETY: plain values.
    result(unsafe { proxy_increment_metric(id, by) })
}

/// The host property at `path` (Envoy's attributes, such as `connection`,
/// `sha256_peer_certificate_digest`); `None` when it has none.
pub fn property(path: &[&str]) -> Result<Option<Vec<u8>>, Failure> {
    // The ABI takes the path's segments joined with NUL bytes.
    let joined = path.join("\0");
    // SAFETY: `joined` is valid for its length during the call; the host writes the value's
    // address and size into the out-pointers.
    let value = buffer_call(|data, size| unsafe {
        proxy_get_property(joined.as_ptr(), joined.len(), data, size)
    });
    match value {
        Err(NOT_FOUND) => Ok(None),
        other => other,
    }
}

/// Sets property `name` of the current stream: Envoy keeps it in the request's filter state
/// as `wasm.<name>`, for access logs and later filters.
pub fn set_property(name: &str, value: &str) -> Result<(), Failure> {
    // SAFETY: `name` and `value` are valid for their lengths during the call.
    result(unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) })
}
