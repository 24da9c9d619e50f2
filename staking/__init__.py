"""EPoS staking rules: validators, delegation, election, rewards, undelegation, slashing and issuance."""
