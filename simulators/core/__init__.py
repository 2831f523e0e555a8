"""The protocol-agnostic simulator core. Protocol modules register with it; nothing here names
a protocol.

- :mod:`.state`: :class:`~.state.SimulatorState` (scenarios, credentials, limits, journal,
  attempt and id counters, usage, open sessions, clock, seed), admission from the request head,
  :class:`~.state.Exchange`;
- :mod:`.limits`: :class:`~.limits.Limits`, every bound a simulator puts on its peers (SRV-4);
- :mod:`.bodies`: request bodies under limits (size, deadline) and JSON decoding that refuses
  what Python cannot decode safely (depth, huge integers) with a 400;
- :mod:`.journal`: the journal and its typed entries (``wire.frame``, ``wire.note``), bounded
  in bytes, bodies kept as bytes, read in pages;
- :mod:`.clock`: the injectable clock (a fixed ``created`` by default);
- :mod:`.actions`: the action vocabulary and the one executor walk both shells share;
- :mod:`.faults`: fault placement over a stream of encoded events;
- :mod:`.registry`: the protocol registry;
- :mod:`.serving`: what every aiohttp handler shares (admission, bodies, every error as JSON);
- :mod:`.control`: the control API, behind its token and Host check;
- :mod:`.connection`: the HTTP connection (JSON answers to unparseable heads, the head
  deadline, connection-lost callbacks) and :class:`~.connection.SimulatorRunner`;
- :mod:`.app`: the aiohttp application factory;
- :mod:`.socket_server`: :class:`~.socket_server.SimulatorServer`, an app on a port;
- :mod:`.credentials`: the accepted API keys.

This package imports none of its modules itself: :mod:`voicewire.simulators.scenario` imports
nothing of the core, the core imports the scenario model, and importing the package must not
drag the rest in.
"""
