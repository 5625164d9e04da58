"""Archive crawler for 四川长安网 (www.sichuanpeace.gov.cn)."""
