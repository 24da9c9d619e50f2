"""harmony-node: the chain core (wire types, state, execution, genesis) and the node shell."""
