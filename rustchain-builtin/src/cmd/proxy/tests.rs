//! The proxy on its own, on a host loopback listener (the sandbox's
//! namespace is exercised by `tests/cmd_tool.rs`). No executor: the grants
//! are empty, so only the program's `hosts` open anything.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

use super::*;

const WAIT: Duration = Duration::from_secs(5);

/// A proxy for a program granted `hosts`, and its address.
fn proxy(hosts: &[String]) -> (Proxy, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("an address");
    let reach = ProgramReach::new(&ToolContext::new(), Path::new("/usr/bin/curl"), hosts)
        .expect("valid hosts");
    (Proxy::start(listener, reach).expect("started"), address)
}

/// Sends `head` to the proxy; returns the connection and its status line.
fn ask(proxy: SocketAddr, head: &str) -> (BufReader<TcpStream>, String) {
    let mut stream = TcpStream::connect(proxy).expect("the proxy accepts");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream.write_all(head.as_bytes()).expect("sent");
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).expect("a status line");
    (reader, status)
}

fn upstream() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    (listener, port)
}

#[test]
fn a_granted_target_is_tunnelled_and_the_tunnel_ends_with_the_proxy() {
    let (server, port) = upstream();
    let (running, address) = proxy(&[format!("127.0.0.1:{port}")]);
    let (mut client, status) = ask(
        address,
        &format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"),
    );
    assert_eq!(status, "HTTP/1.1 200 Connection established\r\n");
    let mut blank = String::new();
    client.read_line(&mut blank).expect("the blank line");
    let (mut accepted, _) = server.accept().expect("the proxy connected");
    accepted.set_read_timeout(Some(WAIT)).expect("timeout");
    client.get_mut().write_all(b"ping").expect("sent");
    let mut got = [0u8; 4];
    accepted.read_exact(&mut got).expect("relayed");
    assert_eq!(&got, b"ping");
    // The program still holds its end open; ending the proxy ends both.
    drop(running);
    let mut rest = Vec::new();
    assert_eq!(
        accepted
            .read_to_end(&mut rest)
            .expect("closed, not timed out"),
        0
    );
    assert_eq!(
        client
            .read_to_end(&mut rest)
            .expect("closed, not timed out"),
        0
    );
}

#[test]
fn ungranted_ports_addresses_and_names_are_refused_with_403() {
    let (_server, port) = upstream();
    let (_running, address) = proxy(&[format!("127.0.0.1:{port}"), format!("localhost:{port}")]);
    for head in [
        format!(
            "CONNECT 127.0.0.1:{} HTTP/1.1\r\n\r\n",
            port.wrapping_add(1).max(1)
        ),
        format!(
            "GET http://127.0.0.1:{}/ HTTP/1.1\r\n\r\n",
            port.wrapping_add(1).max(1)
        ),
        "CONNECT 10.0.0.1:443 HTTP/1.1\r\n\r\n".to_owned(),
        "CONNECT 2130706433:22 HTTP/1.1\r\n\r\n".to_owned(),
        "CONNECT metadata.google.internal:80 HTTP/1.1\r\n\r\n".to_owned(),
    ] {
        let (mut reader, status) = ask(address, &head);
        assert!(status.starts_with("HTTP/1.1 403 "), "{head}: {status}");
        let mut text = String::new();
        reader.read_to_string(&mut text).expect("the reason");
        assert!(text.contains("rustchain proxy: "), "{text}");
    }
    // A granted name that resolves to loopback, which is granted by address
    // only at that port: its answer is checked, not the name alone.
    let (_, status) = ask(
        address,
        &format!("CONNECT localhost:{port} HTTP/1.1\r\n\r\n"),
    );
    assert!(status.starts_with("HTTP/1.1 200 "), "{status}");
    let (_other_running, other) = proxy(&["localhost:1".to_owned()]);
    let (mut reader, status) = ask(other, "CONNECT localhost:1 HTTP/1.1\r\n\r\n");
    assert!(status.starts_with("HTTP/1.1 403 "), "{status}");
    let mut text = String::new();
    reader.read_to_string(&mut text).expect("the reason");
    assert!(text.contains("loopback"), "{text}");
}

#[test]
fn oversized_and_malformed_heads_are_refused() {
    let (_running, address) = proxy(&["127.0.0.1:1".to_owned()]);
    let huge = format!(
        "GET http://127.0.0.1:1/ HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(MAX_HEAD)
    );
    let (_, status) = ask(address, &huge);
    assert!(status.starts_with("HTTP/1.1 431 "), "{status}");
    let (_, status) = ask(address, "GET /local HTTP/1.1\r\n\r\n");
    assert!(status.starts_with("HTTP/1.1 400 "), "{status}");
}

#[test]
fn a_plain_http_request_is_forwarded_in_origin_form() {
    let (server, port) = upstream();
    let (_running, address) = proxy(&[format!("127.0.0.1:{port}")]);
    let reply = std::thread::spawn(move || {
        let (mut accepted, _) = server.accept().expect("the proxy connected");
        accepted.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && accepted.read(&mut byte).expect("read") == 1 {
            head.push(byte[0]);
        }
        accepted
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
            .expect("answered");
        String::from_utf8(head).expect("text")
    });
    let head = format!(
        "GET http://127.0.0.1:{port}/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Authorization: s\r\n\r\n"
    );
    let (mut reader, status) = ask(address, &head);
    assert_eq!(status, "HTTP/1.1 200 OK\r\n");
    let mut text = String::new();
    reader.read_to_string(&mut text).expect("the body");
    assert!(text.ends_with("hi"), "{text}");
    let seen = reply.join().expect("the server thread");
    assert_eq!(seen, "GET /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}
