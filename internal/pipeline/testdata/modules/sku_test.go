package sku
