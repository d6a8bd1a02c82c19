//! Distinguished names: Go's `parseName`, `parseASN1String` and `pkix.Name.FillFromRDNSequence`.

use serde_json::Value;

use super::der::{Der, tag};
use super::json;
use super::oid::{self, Arcs};

/// One attribute of a relative distinguished name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attribute {
    pub oid: Arcs,
    pub value: String,
}

/// A `pkix.Name` filled from an RDN sequence.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Name {
    country: Vec<String>,
    organization: Vec<String>,
    organizational_unit: Vec<String>,
    locality: Vec<String>,
    province: Vec<String>,
    street_address: Vec<String>,
    postal_code: Vec<String>,
    serial_number: String,
    common_name: String,
    names: Vec<Attribute>,
}

/// Go's `isPrintable` for PrintableString, which also lets `*` and `&` through.
fn printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(&b)
}

fn bmp(value: &[u8]) -> Result<String, String> {
    let bad = || "invalid BMPString".to_string();
    if !value.len().is_multiple_of(2) {
        return Err(bad());
    }
    let value = value.strip_suffix(&[0, 0]).unwrap_or(value);
    value
        .chunks_exact(2)
        .map(|pair| {
            let &[hi, lo] = pair else {
                return Err(bad());
            };
            let point = u16::from_be_bytes([hi, lo]);
            let reserved = matches!(point, 0xfffe | 0xffff | 0xfdd0..=0xfdef | 0xd800..=0xdfff);
            if reserved {
                return Err(bad());
            }
            char::from_u32(u32::from(point)).ok_or_else(bad)
        })
        .collect()
}

/// Go's `parseASN1String`.
pub(crate) fn asn1_string(t: u8, value: &[u8]) -> Result<String, String> {
    match t {
        tag::T61_STRING => Ok(value.iter().map(|&b| char::from(b)).collect()),
        tag::PRINTABLE_STRING if value.iter().all(|&b| printable(b)) => Ok(ascii(value)),
        tag::PRINTABLE_STRING => Err("invalid PrintableString".into()),
        tag::UTF8_STRING => std::str::from_utf8(value)
            .map(str::to_string)
            .map_err(|_| "invalid UTF-8 string".into()),
        tag::BMP_STRING => bmp(value),
        tag::IA5_STRING if value.is_ascii() => Ok(ascii(value)),
        tag::IA5_STRING => Err("invalid IA5String".into()),
        tag::NUMERIC_STRING if value.iter().all(|&b| b.is_ascii_digit() || b == b' ') => {
            Ok(ascii(value))
        }
        tag::NUMERIC_STRING => Err("invalid NumericString".into()),
        other => Err(format!("unsupported string type: {other}")),
    }
}

fn ascii(value: &[u8]) -> String {
    value.iter().map(|&b| char::from(b)).collect()
}

/// Go's `parseName`: the attributes of a DER `Name` element, in order.
pub(crate) fn parse(raw: &[u8]) -> Result<Vec<Vec<Attribute>>, String> {
    let invalid = |what: &str| format!("x509: invalid RDNSequence{what}");
    let mut seq = Der::new(raw)
        .read(tag::SEQUENCE)
        .ok_or_else(|| invalid(""))?;
    let mut rdns = Vec::new();
    while !seq.is_empty() {
        let mut set = seq.read(tag::SET).ok_or_else(|| invalid(""))?;
        let mut rdn = Vec::new();
        while !set.is_empty() {
            let mut atv = set
                .read(tag::SEQUENCE)
                .ok_or_else(|| invalid(": invalid attribute"))?;
            let oid = oid::read(&mut atv).ok_or_else(|| invalid(": invalid attribute type"))?;
            let (t, value) = atv
                .read_any()
                .ok_or_else(|| invalid(": invalid attribute value"))?;
            let value = asn1_string(t, value.bytes())
                .map_err(|e| invalid(&format!(": invalid attribute value: {e}")))?;
            rdn.push(Attribute { oid, value });
        }
        rdns.push(rdn);
    }
    Ok(rdns)
}

impl Name {
    /// `pkix.Name.FillFromRDNSequence`.
    pub fn from_rdns(rdns: Vec<Vec<Attribute>>) -> Self {
        let mut n = Name::default();
        for attr in rdns.into_iter().flatten() {
            if let [2, 5, 4, last] = attr.oid[..] {
                let v = attr.value.clone();
                match last {
                    3 => n.common_name = v,
                    5 => n.serial_number = v,
                    6 => n.country.push(v),
                    7 => n.locality.push(v),
                    8 => n.province.push(v),
                    9 => n.street_address.push(v),
                    10 => n.organization.push(v),
                    11 => n.organizational_unit.push(v),
                    17 => n.postal_code.push(v),
                    _ => {}
                }
            }
            n.names.push(attr);
        }
        n
    }

    /// Parses and fills a name from its DER element.
    pub fn parse(raw: &[u8]) -> Result<Self, String> {
        parse(raw).map(Name::from_rdns)
    }

    /// The `pkix.Name` JSON object.
    pub fn to_json(&self) -> Value {
        let names = json::list(&self.names, |a| {
            json::object([
                ("Type", oid::to_json(&a.oid)),
                ("Value", Value::String(a.value.clone())),
            ])
        });
        json::object([
            ("Country", json::strings(&self.country)),
            ("Organization", json::strings(&self.organization)),
            (
                "OrganizationalUnit",
                json::strings(&self.organizational_unit),
            ),
            ("Locality", json::strings(&self.locality)),
            ("Province", json::strings(&self.province)),
            ("StreetAddress", json::strings(&self.street_address)),
            ("PostalCode", json::strings(&self.postal_code)),
            ("SerialNumber", Value::String(self.serial_number.clone())),
            ("CommonName", Value::String(self.common_name.clone())),
            ("Names", names),
            ("ExtraNames", Value::Null),
        ])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strings() {
        let cases: &[(u8, &[u8], Result<&str, &str>)] = &[
            (
                tag::PRINTABLE_STRING,
                b"*.example.com & co",
                Ok("*.example.com & co"),
            ),
            (
                tag::PRINTABLE_STRING,
                b"a_b",
                Err("invalid PrintableString"),
            ),
            (tag::UTF8_STRING, "Ünïcode".as_bytes(), Ok("Ünïcode")),
            (tag::UTF8_STRING, b"\xff", Err("invalid UTF-8 string")),
            (tag::T61_STRING, b"caf\xe9", Ok("café")),
            (
                tag::BMP_STRING,
                &[0x00, 0x41, 0x00, 0xe9, 0x00, 0x00],
                Ok("Aé"),
            ),
            (tag::BMP_STRING, &[0xd8, 0x00], Err("invalid BMPString")),
            (tag::BMP_STRING, &[0x00], Err("invalid BMPString")),
            (tag::IA5_STRING, b"a@b", Ok("a@b")),
            (tag::IA5_STRING, b"\x80", Err("invalid IA5String")),
            (tag::NUMERIC_STRING, b"12 3", Ok("12 3")),
            (tag::NUMERIC_STRING, b"1a", Err("invalid NumericString")),
            (tag::INTEGER, b"\x01", Err("unsupported string type: 2")),
        ];
        for (t, value, want) in cases {
            let got = asn1_string(*t, value);
            assert_eq!(
                got.as_deref(),
                want.map_err(str::to_string).as_deref(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn fills_name_like_go() {
        // C=xx, O=a, O=b, CN=first, CN=last (the last common name wins).
        let der = [
            0x30, 0x3a, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'x',
            b'x', 0x31, 0x14, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x01, b'a', 0x30,
            0x08, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x01, b'b', 0x31, 0x0a, 0x30, 0x08, 0x06,
            0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, b'f', 0x31, 0x09, 0x30, 0x07, 0x06, 0x03, 0x55,
            0x04, 0x03, 0x0c, 0x00,
        ];
        let got = Name::parse(&der).unwrap().to_json();
        assert_eq!(got["Country"], json!(["xx"]));
        assert_eq!(got["Organization"], json!(["a", "b"]));
        assert_eq!(got["CommonName"], json!(""));
        assert_eq!(got["Locality"], json!(null));
        assert_eq!(got["Names"].as_array().map(Vec::len), Some(5));
        assert_eq!(
            got["Names"][0],
            json!({"Type": [2, 5, 4, 6], "Value": "xx"})
        );
        let err = Name::parse(&[0x30, 0x02, 0x30, 0x00]).unwrap_err();
        assert_eq!(err, "x509: invalid RDNSequence");
    }
}
