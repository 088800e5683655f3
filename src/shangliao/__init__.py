"""Shangliao (商聊): a self-hostable chat-commerce order desk."""

__version__ = "0.1.0"
