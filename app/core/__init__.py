"""Qt-free domain of Inkling: settings, conversations, documents, storage, errors, ports."""
