//! Node positions by path, with fallback to the nearest ancestor.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use palisade_yaml::{Location, Options, PathSegment, Positions, parse_documents, render_path};

const POLICY: &str = "\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-labels
spec:
  rules:
  - name: check-team
    match:
      any:
      - resources:
          kinds: [Pod, Deployment]
    validate:
      message: >-
        label required
      pattern:
        metadata:
          labels:
            team: \"?*\"
  - name: second
    validate: {pattern: {spec: {containers: [{image: \"!*:latest\"}]}}}
";

fn path(segs: &[&str]) -> Vec<PathSegment> {
    segs.iter()
        .map(|s| match s.parse::<usize>() {
            Ok(i) => PathSegment::Index(i),
            Err(_) => PathSegment::Key((*s).to_owned()),
        })
        .collect()
}

fn positions(src: &str) -> Positions {
    let mut docs = parse_documents(src, &Options::with_positions()).unwrap();
    docs.remove(0).positions.unwrap()
}

fn at(line: usize, column: usize) -> Option<Location> {
    Some(Location { line, column })
}

#[test]
fn nested_paths_and_list_items() {
    let p = positions(POLICY);
    let cases: &[(&[&str], Option<Location>)] = &[
        (&[], at(1, 1)),
        (&["kind"], at(2, 1)),
        (&["metadata", "name"], at(4, 3)),
        (&["spec", "rules"], at(6, 3)),
        (&["spec", "rules", "0"], at(7, 5)),
        (&["spec", "rules", "0", "name"], at(7, 5)),
        (
            &[
                "spec",
                "rules",
                "0",
                "match",
                "any",
                "0",
                "resources",
                "kinds",
            ],
            at(11, 11),
        ),
        (
            &[
                "spec",
                "rules",
                "0",
                "match",
                "any",
                "0",
                "resources",
                "kinds",
                "1",
            ],
            at(11, 24),
        ),
        (&["spec", "rules", "0", "validate", "message"], at(13, 7)),
        (
            &[
                "spec", "rules", "0", "validate", "pattern", "metadata", "labels", "team",
            ],
            at(18, 13),
        ),
        (
            &[
                "spec",
                "rules",
                "1",
                "validate",
                "pattern",
                "spec",
                "containers",
                "0",
                "image",
            ],
            at(20, 47),
        ),
    ];
    for (segs, want) in cases {
        let got = p.get(&path(segs));
        assert_eq!(got, *want, "{}", render_path(&path(segs)));
        assert_eq!(p.lookup(&path(segs)), *want);
    }
}

#[test]
fn lookup_falls_back_to_nearest_ancestor() {
    let p = positions(POLICY);
    let missing = path(&["spec", "rules", "1", "validate", "deny", "conditions"]);
    assert_eq!(p.get(&missing), None);
    assert_eq!(p.lookup(&missing), at(20, 5));
    // Index past the end, or a key on a sequence.
    assert_eq!(p.lookup(&path(&["spec", "rules", "7", "name"])), at(6, 3));
    assert_eq!(p.lookup(&path(&["spec", "rules", "name"])), at(6, 3));
    assert_eq!(p.lookup(&path(&["nope"])), at(1, 1));
}

#[test]
fn value_locations_differ_from_key_locations() {
    let p = positions(POLICY);
    let rules = path(&["spec", "rules"]);
    assert_eq!(p.lookup(&rules), at(6, 3));
    // saphyr-parser starts a sequence that is not indented under its key at its first
    // item's content rather than at the dash.
    assert_eq!(p.lookup_value(&rules), at(7, 5));
    // A block scalar starts at its content.
    let msg = path(&["spec", "rules", "0", "validate", "message"]);
    assert_eq!(p.lookup_value(&msg), at(14, 9));
}

#[test]
fn documents_know_their_lines() {
    let src = "# c\n---\na: 1\n---\n\n# x\nb:\n  c: 2\n";
    let docs = parse_documents(src, &Options::with_positions()).unwrap();
    assert_eq!(docs.iter().map(|d| d.line).collect::<Vec<_>>(), vec![3, 7]);
    let p = docs[1].positions.as_ref().unwrap();
    assert_eq!(p.get(&path(&["b", "c"])), at(8, 3));
    let fast = parse_documents(src, &Options::default()).unwrap();
    assert!(fast.iter().all(|d| d.positions.is_none()));
}

#[test]
fn aliases_and_merges_point_somewhere_sensible() {
    let src = "base: &b\n  x: 1\n  s: {z: 2}\ncopy: *b\nmerged:\n  <<: *b\n  w: 3\n";
    let p = positions(src);
    // The alias itself is where it is used; inside, the anchored original.
    assert_eq!(p.get(&path(&["copy"])), at(4, 1));
    assert_eq!(p.lookup_value(&path(&["copy"])), at(4, 7));
    assert_eq!(p.get(&path(&["copy", "s", "z"])), at(3, 7));
    assert_eq!(p.get(&path(&["merged", "x"])), at(2, 3));
    assert_eq!(p.get(&path(&["merged", "w"])), at(7, 3));
}

#[test]
fn columns_count_characters() {
    let p = positions("é: {ü: 1, ß: [ä, ö]}\n");
    assert_eq!(p.get(&path(&["é", "ß", "1"])), at(1, 18));
}
