// filled by the portal issue
