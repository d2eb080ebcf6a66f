"""Withdrawal address formats: valid and invalid addresses per format, from the specifications'
own examples (BIP 173, BIP 350) and well-known addresses."""

import pytest

from accounts.addresses import validate_address
from common.errors import ValidationFailed

VALID = [
    ("evm", "0x" + "ab" * 20),
    ("evm", "0x52908400098527886E0F7030069857D2E4169EE7"),  # EIP-55's example, mixed case
    ("bitcoin", "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"),  # P2WSH
    ("bitcoin", "BC1QRP33G0Q5C5TXSP9ARYSRX4K6ZDKFS4NCE4XJ0GDCCCEFVPYSXF3QCCFMV3"),  # upper
    ("bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),  # taproot
    ("bitcoin", "BC1SW50QGDZ25J"),  # BIP 350: version 16, bech32m
    ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),  # P2PKH
    ("bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),  # P2SH
    ("solana", "11111111111111111111111111111111"),  # the system program
    ("solana", "So11111111111111111111111111111111111111112"),  # wrapped SOL
    ("any", "whatever-the-operator-allows"),
]
INVALID = [
    ("evm", "0x" + "ab" * 19),  # 38 digits
    ("evm", "ab" * 21),  # no 0x
    ("evm", "0x" + "zz" * 20),
    ("bitcoin", "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv4"),  # checksum
    ("bitcoin", "BC1QRP33G0Q5C5TXSP9ARYSRX4K6ZDKFS4NCE4XJ0GDCCCEFVPYSXF3qccfmv3"),  # mixed case
    # testnet (a valid checksum, the wrong network)
    ("bitcoin", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7"),
    ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"),  # base58check checksum
    ("bitcoin", "0x" + "ab" * 20),
    ("solana", "1111111111111111111111111111111"),  # 31 bytes
    ("solana", "0OIl" * 10),  # not base58
    ("any", "with space"),
    ("any", ""),
    ("any", "x" * 129),
    ("any", "ад"),
]


@pytest.mark.parametrize(("fmt", "address"), VALID)
def test_address_is_accepted_when_it_has_the_assets_format(fmt, address):
    validate_address(fmt, address, asset="X")


@pytest.mark.parametrize(("fmt", "address"), INVALID)
def test_address_is_refused_with_invalid_address_when_malformed(fmt, address):
    with pytest.raises(ValidationFailed) as refused:
        validate_address(fmt, address, asset="X")
    assert refused.value.code == "invalid_address"
    assert refused.value.details == {"field": "address", "format": fmt}
