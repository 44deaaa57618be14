package org.hibernate.agroal.internal;

import org.hibernate.engine.jdbc.connections.internal.DriverManagerConnectionProviderImpl;

/**
 * A stand-in for hibernate-agroal, which Maven Central does not serve here. The Debezium
 * JDBC sink names this class as its default connection provider, so the class must load;
 * the benchmark configures Hibernate's built-in pool, and this class is never used.
 */
public class AgroalConnectionProvider extends DriverManagerConnectionProviderImpl {}
