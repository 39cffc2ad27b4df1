"""The standards registry: data elements (数据元) and code sets (代码集), JSON/Excel exchange."""
