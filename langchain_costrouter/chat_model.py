"""`RoutedChatModel`, importable where it always was; the request path is `router/`."""

from langchain_costrouter.router import RoutedChatModel

__all__ = ["RoutedChatModel"]
