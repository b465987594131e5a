"""The deployment as a user runs it: docker-compose on locally built images."""
