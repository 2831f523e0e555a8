"""The protocol-agnostic simulator core: credentials, admission, the journal, the control API,
the action executor and the app factory. Protocol modules register their routes with it."""
