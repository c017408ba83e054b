//! What to do with one query: answer it from the names the client may resolve, refuse it,
//! or forward it upstream. Pure (bytes and tables in, bytes out), so it is tested without
//! sockets.

use super::scope::Scope;
use super::NAME_TTL;
use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send these bytes back.
    Reply(Vec<u8>),
    /// Not a name of this network: forward the query as it came. `udp_limit` is the
    /// most the client takes over UDP (None: it asked over TCP).
    Forward { udp_limit: Option<usize> },
    /// Not a query at all (too short to carry an id, or a response): ignore it.
    Drop,
}

/// The UDP payload size we offer in responses to EDNS queries (the 2020 DNS flag day's).
const EDNS_PAYLOAD: u16 = 1232;

/// Decides for `query`, answering from `table` (the client's networks). `may_forward` is false on internal networks, whose unknown names
/// are refused instead (REFUSED: the client gives up at once instead of retrying, and
/// nothing leaves the network). `udp` says how the query came (UDP answers must fit the
/// client's payload size: 512, or what its EDNS record offers).
pub fn decide(query: &[u8], table: &Scope, may_forward: bool, udp: bool) -> Decision {
    let msg = match Message::from_vec(query) {
        Ok(m) => m,
        Err(_) if query.len() >= 12 && query[2] & 0x80 == 0 => {
            let id = u16::from_be_bytes([query[0], query[1]]);
            return reply(&Message::error_msg(
                id,
                OpCode::Query,
                ResponseCode::FormErr,
            ));
        }
        Err(_) => return Decision::Drop,
    };
    if msg.metadata.message_type != MessageType::Query {
        return Decision::Drop;
    }
    let mut resp = Message::new(0, MessageType::Response, msg.metadata.op_code);
    resp.metadata = Metadata::response_from_request(&msg.metadata);
    resp.metadata.recursion_available = may_forward;
    resp.queries = msg.queries.clone();
    if msg.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        resp.edns = Some(edns);
    }
    if msg.metadata.op_code != OpCode::Query {
        resp.metadata.response_code = ResponseCode::NotImp;
        return reply(&resp);
    }
    let [q] = msg.queries.as_slice() else {
        resp.metadata.response_code = ResponseCode::FormErr;
        return reply(&resp);
    };
    let qname = q.name.to_ascii();
    let udp_limit = udp.then(|| usize::from(msg.max_payload()));
    match local_records(table, &q.name, &qname, q.query_type) {
        Some(records) => {
            resp.metadata.authoritative = true;
            resp.answers = records;
            fit(resp, udp_limit.unwrap_or(usize::from(u16::MAX)))
        }
        None if may_forward => Decision::Forward { udp_limit },
        None => {
            resp.metadata.response_code = ResponseCode::Refused;
            reply(&resp)
        }
    }
}

/// The records answering `qtype` for `qname` when it is a name of the client's networks
/// (an empty list: the name exists without data of that type), None when it is not.
fn local_records(
    table: &Scope,
    name: &Name,
    qname: &str,
    qtype: RecordType,
) -> Option<Vec<Record>> {
    if qtype == RecordType::PTR {
        let target = arpa_to_ip(qname).and_then(|ip| table.reverse(ip))?;
        let target = Name::from_ascii(format!("{target}.")).ok()?;
        return Some(vec![Record::from_rdata(
            name.clone(),
            NAME_TTL,
            RData::PTR(PTR(target)),
        )]);
    }
    let found = table.lookup(qname);
    if found.is_empty() {
        return None;
    }
    let want_a = matches!(qtype, RecordType::A | RecordType::ANY);
    let want_aaaa = matches!(qtype, RecordType::AAAA | RecordType::ANY);
    let mut records = Vec::new();
    for addrs in found {
        if want_a {
            let data = RData::A(A(addrs.ipv4));
            records.push(Record::from_rdata(name.clone(), NAME_TTL, data));
        }
        if let (true, Some(v6)) = (want_aaaa, addrs.ipv6) {
            let data = RData::AAAA(AAAA(v6));
            records.push(Record::from_rdata(name.clone(), NAME_TTL, data));
        }
    }
    Some(records)
}

/// Encodes `resp`; when it is longer than the client can take over UDP, sends the header
/// and question with TC set so the client asks again over TCP.
fn fit(mut resp: Message, limit: usize) -> Decision {
    match resp.to_vec() {
        Ok(bytes) if bytes.len() <= limit => Decision::Reply(bytes),
        Ok(_) => {
            resp.answers.clear();
            resp.metadata.truncation = true;
            reply(&resp)
        }
        Err(_) => server_failure(&resp),
    }
}

fn reply(msg: &Message) -> Decision {
    match msg.to_vec() {
        Ok(bytes) => Decision::Reply(bytes),
        Err(_) => Decision::Drop,
    }
}

fn server_failure(resp: &Message) -> Decision {
    let mut m = Message::error_msg(resp.metadata.id, OpCode::Query, ResponseCode::ServFail);
    m.queries = resp.queries.clone();
    reply(&m)
}

/// A SERVFAIL for `query` (its id and question kept): upstream gave no answer.
pub fn servfail(query: &[u8]) -> Option<Vec<u8>> {
    error_reply(query, ResponseCode::ServFail)
}

/// A REFUSED for `query`: it came from outside the network.
pub fn refused(query: &[u8]) -> Option<Vec<u8>> {
    error_reply(query, ResponseCode::Refused)
}

fn error_reply(query: &[u8], code: ResponseCode) -> Option<Vec<u8>> {
    let msg = Message::from_vec(query).ok()?;
    if msg.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut m = Message::error_msg(msg.metadata.id, msg.metadata.op_code, code);
    m.metadata.recursion_desired = msg.metadata.recursion_desired;
    m.metadata.recursion_available = code == ResponseCode::ServFail;
    m.queries = msg.queries;
    m.to_vec().ok()
}

/// The address of a reverse-lookup name (`4.3.2.1.in-addr.arpa.` or the 32-nibble
/// `ip6.arpa.` form); None for anything else, including partial (network) names.
fn arpa_to_ip(name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
        let octets: Vec<u8> = rest
            .split('.')
            .map(|o| o.parse().ok())
            .collect::<Option<_>>()?;
        let [d, c, b, a] = octets.as_slice() else {
            return None;
        };
        return Some(IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d)));
    }
    let rest = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u8> = rest
        .split('.')
        .map(|n| u8::from_str_radix(n, 16).ok().filter(|_| n.len() == 1))
        .collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let mut bits: u128 = 0;
    for n in nibbles.iter().rev() {
        bits = bits << 4 | u128::from(*n);
    }
    Some(IpAddr::V6(Ipv6Addr::from(bits)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::names::{Lease, NameTable};
    use hickory_proto::op::Query;
    use std::sync::Arc;

    fn table() -> Scope<'static> {
        Scope::single(Arc::new(NameTable::from_leases(&[Lease {
            container_id: "0123456789abcdef".into(),
            name: "web".into(),
            aliases: vec!["front".into()],
            ipv4: Ipv4Addr::new(10, 9, 0, 2),
            ipv6: Some("fd00::2".into()),
            owner_pid: 0,
            owner_start_time: 0,
        }])))
    }

    fn query(name: &str, qtype: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        m.to_vec().unwrap()
    }

    fn answered(d: Decision) -> Message {
        match d {
            Decision::Reply(b) => Message::from_vec(&b).unwrap(),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn a_aaaa_and_ptr_come_from_the_table() {
        let t = table();
        let m = answered(decide(&query("WEB.", RecordType::A), &t, true, true));
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.metadata.authoritative);
        assert_eq!(m.answers[0].data, RData::A(A(Ipv4Addr::new(10, 9, 0, 2))));
        let m = answered(decide(&query("front.", RecordType::AAAA), &t, true, true));
        assert_eq!(
            m.answers[0].data,
            RData::AAAA(AAAA("fd00::2".parse().unwrap()))
        );
        let m = answered(decide(&query("web.", RecordType::MX), &t, true, true));
        assert!(m.answers.is_empty(), "a known name without MX: NODATA");
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        let m = answered(decide(
            &query("2.0.9.10.in-addr.arpa.", RecordType::PTR),
            &t,
            true,
            true,
        ));
        assert_eq!(
            m.answers[0].data,
            RData::PTR(PTR(Name::from_ascii("web.").unwrap()))
        );
    }

    #[test]
    fn unknown_names_forward_or_are_refused_on_internal_networks() {
        let t = table();
        let q = query("example.test.", RecordType::A);
        assert_eq!(
            decide(&q, &t, true, true),
            Decision::Forward {
                udp_limit: Some(512)
            }
        );
        let m = answered(decide(&q, &t, false, true));
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
        assert_eq!(decide(&[1, 2, 3], &t, true, true), Decision::Drop);
    }

    #[test]
    fn reverse_names_parse() {
        assert_eq!(
            arpa_to_ip("4.3.2.1.IN-ADDR.ARPA."),
            Some(IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)))
        );
        let v6: Ipv6Addr = "fd00::2".parse().unwrap();
        let name = Name::from(v6).to_ascii();
        assert_eq!(arpa_to_ip(&name), Some(IpAddr::V6(v6)));
        assert_eq!(arpa_to_ip("3.2.1.in-addr.arpa."), None);
    }
}
