// Command oracle prints what Kyverno's x509_decode returns for the PEM on stdin (Go
// standard library only), to produce the expected files of the Rust tests.
package main

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

type pubKey struct {
	N string
	E int
}

// kyvernoKey re-parses the key as Kyverno does, with x509.ParsePKCS1PublicKey on the bit
// string of the SubjectPublicKeyInfo.
func kyvernoKey(spki []byte) (pubKey, error) {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return pubKey{}, errors.New("failed to parse subject public key info")
	}
	k, err := x509.ParsePKCS1PublicKey(info.PublicKey.Bytes)
	if err != nil {
		return pubKey{}, errors.New("failed to parse subject public key info")
	}
	return pubKey{N: k.N.String(), E: k.E}, nil
}

func roundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func decode(in string) (any, error) {
	block, _ := pem.Decode([]byte(in))
	if block == nil {
		return nil, errors.New("failed to decode PEM block")
	}
	switch block.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		if c.PublicKeyAlgorithm != x509.RSA {
			return nil, errors.New("certificate should use rsa algorithm")
		}
		k, err := kyvernoKey(c.RawSubjectPublicKeyInfo)
		if err != nil {
			return nil, err
		}
		c.PublicKey = k
		return roundTrip(c)
	case "CERTIFICATE REQUEST":
		c, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			return nil, err
		}
		if c.PublicKeyAlgorithm != x509.RSA {
			return nil, errors.New("certificate should use rsa algorithm")
		}
		k, err := kyvernoKey(c.RawSubjectPublicKeyInfo)
		if err != nil {
			return nil, err
		}
		c.PublicKey = k
		return roundTrip(c)
	}
	return nil, errors.New("PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST")
}

func main() {
	in, _ := io.ReadAll(os.Stdin)
	v, err := decode(string(in))
	if err != nil {
		fmt.Printf("{\"error\": %q}\n", err.Error())
		return
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Println(string(b))
}
