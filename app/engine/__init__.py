"""The runtime: the engine process that owns llama_cpp.Llama, and the client that talks to it."""
