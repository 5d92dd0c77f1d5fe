"""The admin/member/anonymous access-policy matrix."""
